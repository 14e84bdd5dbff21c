"""Write the course-companion notebooks (examples/notebooks/*.ipynb) from the sources below.

The notebooks are stored without outputs; this script is their source of truth
(tests/test_notebooks.py checks that the stored files match it, and executes them).

    python examples/notebooks/build.py          # rewrite the .ipynb files
    python examples/notebooks/build.py --check  # exit 1 if a stored file differs

Each source is a sequence of cells separated by lines ``# %%`` (code) and
``# %% [markdown]`` (markdown, written as ``# `` comment lines).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).parent

SETUP = """\
import numpy as np
import matplotlib.pyplot as plt
import xpnet as xn
import xpnet.plotting

xn.set_seed(0)
print("xpnet backend:", xn.get_backend().name)  # XPNET_BACKEND=cupy runs it on a GPU"""

NOTEBOOKS: dict[str, str] = {}

NOTEBOOKS["01_activations.ipynb"] = """
# %% [markdown]
# # 1. Activation functions and their derivatives
#
# The notes (课程笔记 2.3-2.4, and the Keras activation list) use sigmoid, tanh, ReLU and
# leaky ReLU with slope 0.01, and give their derivatives by hand:
# sigmoid' = a(1 - a), tanh' = 1 - a^2, ReLU' = 0 or 1 (either value at 0).
# Here every derivative comes from xpnet's autograd and is compared with those formulas.
# %%
{SETUP}
# %%
x = np.linspace(-5, 5, 201) + 1e-3  # keep off the kink at 0
checks = {{
    "sigmoid": lambda a: a * (1 - a),
    "tanh": lambda a: 1 - a**2,
    "relu": lambda a: (a > 0).astype(float),
}}
for name, by_hand in checks.items():
    a, da = xn.plotting.activation_and_derivative(name, x)
    print(f"{{name:8s}} autograd vs the notes' derivative: max |diff| = "
          f"{{np.max(np.abs(da - by_hand(a))):.1e}}")
# %% [markdown]
# The notes' leaky ReLU has slope 0.01 below zero. `xn.activations.LeakyReLU(0.01)` is that
# function as an object any layer's `activation=` takes (and that saves with the model).
# %%
leaky = xn.activations.LeakyReLU(0.01)
t = xn.Tensor(x, requires_grad=True)
leaky(t).sum().backward()
print("slope below 0:", np.unique(xn.to_numpy(t.grad)[x < 0]), " above 0:",
      np.unique(xn.to_numpy(t.grad)[x > 0]))
layer = xn.layers.Dense(4, activation=leaky)
print(xn.activations.serialize(layer.activation))
# %% [markdown]
# Every elementwise activation beside its derivative (dashed), both from xpnet:
# %%
fig = xn.plotting.activation_gallery()
plt.show()
"""

NOTEBOOKS["02_logistic_regression.ipynb"] = """
# %% [markdown]
# # 2. Logistic regression from scratch, and as `Dense(1, "sigmoid")`
#
# The notes (1.2-1.5): z = w·x + b, a = sigmoid(z), the loss
# L = -[y log a + (1 - y) log(1 - a)], and the gradients dz = a - y, dw = x dz, db = dz,
# averaged over the m examples. We write that with NumPy, then train `Dense(1, "sigmoid")`
# with the same start (zeros), learning rate and full batches: the two give the same weights.
# %%
{SETUP}
# %%
X, y = xn.datasets.make_blobs(n_samples=200, centers=2, n_features=2, seed=1)
X = (X - X.mean(0)) / X.std(0)
Y = y.astype(np.float64)[:, None]          # (m, 1); examples are rows, as in Keras
m, alpha, epochs = len(X), 0.5, 100

w, b, losses = np.zeros((2, 1)), 0.0, []
for _ in range(epochs):
    A = 1 / (1 + np.exp(-(X @ w + b)))      # forward
    losses.append(float(-np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))))
    dZ = A - Y                              # the notes' dz = a - y
    w -= alpha * X.T @ dZ / m
    b -= alpha * float(dZ.mean())
# %%
model = xn.Sequential([xn.Input((2,)), xn.layers.Dense(1, "sigmoid", kernel_initializer="zeros")])
model.compile(xn.optimizers.SGD(learning_rate=alpha), "binary_crossentropy")
history = model.fit(X, Y, batch_size=m, epochs=epochs, shuffle=False, verbose=0)
kernel, bias = (xn.to_numpy(v) for v in model.get_weights())
print("from scratch:", w.ravel(), b)
print("Dense(1)    :", kernel.ravel(), bias)
assert np.allclose(kernel.ravel(), w.ravel(), atol=1e-4) and np.allclose(bias, b, atol=1e-4)
# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.plot(losses, label="from scratch")
ax1.plot(history.history["loss"], "--", label='Dense(1, "sigmoid")')
ax1.set(xlabel="epoch", ylabel="loss", title="the same curve"); ax1.legend()
gx, gy = np.meshgrid(np.linspace(-2.5, 2.5, 100), np.linspace(-2.5, 2.5, 100))
grid = np.c_[gx.ravel(), gy.ravel()].astype(np.float32)
ax2.contourf(gx, gy, xn.to_numpy(model.predict(grid, verbose=0)).reshape(gx.shape), 20,
             cmap="RdBu", alpha=0.6)
ax2.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", edgecolors="k", s=15)
ax2.set_title("decision boundary")
plt.show()
"""

NOTEBOOKS["03_two_layer_network.ipynb"] = """
# %% [markdown]
# # 3. A two-layer network, backpropagation by hand
#
# The notes (2.5): with a tanh hidden layer and a sigmoid output,
#
# dZ2 = A2 - Y,  dW2 = A1ᵀ dZ2 / m,  db2 = Σ dZ2 / m,
# dZ1 = dZ2 W2ᵀ * (1 - A1²),  dW1 = Xᵀ dZ1 / m,  db1 = Σ dZ1 / m
#
# (written for examples as rows, as in Keras; the notes stack them as columns, which
# transposes every product). We compute these by hand and compare with the autograd.
# %%
{SETUP}
# %%
X, y = xn.datasets.make_moons(n_samples=300, noise=0.15, seed=0)
Y = y.astype(np.float64)[:, None]
m, n_x, n_h = X.shape[0], 2, 8
rng = np.random.default_rng(0)
W1 = xn.Parameter(rng.standard_normal((n_x, n_h)) * np.sqrt(1 / n_x))
b1 = xn.Parameter(np.zeros(n_h))
W2 = xn.Parameter(rng.standard_normal((n_h, 1)) * np.sqrt(1 / n_h))
b2 = xn.Parameter(np.zeros(1))
Xt, Yt = xn.Tensor(X.astype(np.float64)), xn.Tensor(Y)

def forward():
    A1 = (Xt @ W1 + b1).tanh()
    A2 = (A1 @ W2 + b2).sigmoid()
    J = -(Yt * A2.log() + (1 - Yt) * (1 - A2).log()).mean()
    return A1, A2, J
# %%
A1, A2, J = forward()
J.backward()                                  # the autograd's gradients
a1, a2 = xn.to_numpy(A1), xn.to_numpy(A2)
dZ2 = a2 - Y                                  # by hand, the notes' formulas
dW2 = a1.T @ dZ2 / m
db2 = dZ2.sum(0) / m
dZ1 = dZ2 @ xn.to_numpy(W2).T * (1 - a1**2)
dW1 = X.T @ dZ1 / m
db1 = dZ1.sum(0) / m
for name, hand, p in [("dW1", dW1, W1), ("db1", db1, b1), ("dW2", dW2, W2), ("db2", db2, b2)]:
    err = np.max(np.abs(hand - xn.to_numpy(p.grad)))
    print(f"{{name}}: max |by hand - autograd| = {{err:.1e}}")
    assert err < 1e-12
# %% [markdown]
# Gradient descent with the hand-written gradients learns the two moons:
# %%
losses = []
for step in range(1500):
    A1, A2, J = forward()
    a1, a2 = xn.to_numpy(A1), xn.to_numpy(A2)
    dZ2 = a2 - Y
    dZ1 = dZ2 @ xn.to_numpy(W2).T * (1 - a1**2)
    for p, g in [(W2, a1.T @ dZ2 / m), (b2, dZ2.mean(0)), (W1, X.T @ dZ1 / m), (b1, dZ1.mean(0))]:
        p.data = p.data - 1.0 * g
    losses.append(J.item())
accuracy = np.mean((a2 > 0.5) == (Y == 1))
print(f"loss {{losses[-1]:.3f}}, training accuracy {{accuracy:.3f}}")
plt.plot(losses); plt.xlabel("step"); plt.ylabel("J"); plt.title("two-layer net, by hand")
plt.show()
"""

NOTEBOOKS["04_vectorization.ipynb"] = """
# %% [markdown]
# # 4. Vectorization vs loops, and broadcasting
#
# The notes (1.6-1.7): replace explicit `for` loops by whole-array operations. We time the
# logistic-regression gradient written with the notes' two loops, with one loop, and
# vectorized, on NumPy arrays.
# %%
{SETUP}
import time
# %%
rng = np.random.default_rng(0)
m, n = 2000, 20
X, y = rng.standard_normal((m, n)), (rng.random(m) > 0.5).astype(float)
w, b = rng.standard_normal(n) * 0.1, 0.0

def two_loops():
    dw, db = np.zeros(n), 0.0
    for i in range(m):
        dz = 1 / (1 + np.exp(-(X[i] @ w + b))) - y[i]
        for j in range(n):
            dw[j] += X[i, j] * dz
        db += dz
    return dw / m, db / m

def one_loop():
    dw, db = np.zeros(n), 0.0
    for i in range(m):
        dz = 1 / (1 + np.exp(-(X[i] @ w + b))) - y[i]
        dw += X[i] * dz
        db += dz
    return dw / m, db / m

def vectorized():
    dz = 1 / (1 + np.exp(-(X @ w + b))) - y
    return X.T @ dz / m, dz.mean()

times = {{}}
for f in (two_loops, one_loop, vectorized):
    t0 = time.perf_counter(); dw, db = f(); times[f.__name__] = time.perf_counter() - t0
    assert np.allclose(dw, vectorized()[0]) and np.isclose(db, vectorized()[1])
for k, v in times.items():
    print(f"{{k:10s}} {{v * 1e3:8.2f}} ms  ({{v / times['vectorized']:.0f}}x the vectorized time)")
plt.bar(list(times), [v * 1e3 for v in times.values()]); plt.yscale("log")
plt.ylabel("ms (log scale)"); plt.title("the same gradient, three ways")
plt.show()
# %% [markdown]
# Broadcasting (1.7): an (m, n) array minus a (1, n) row subtracts the row from every row;
# `axis=0` sums down the columns. xpnet's Tensors broadcast the same way, and their
# gradients sum back over the broadcast axes:
# %%
A = xn.Tensor(np.array([[56.0, 0.0, 4.4, 68.0], [1.2, 104.0, 52.0, 8.0], [1.8, 135.0, 99.0, 0.9]]),
              requires_grad=True)
share = A / A.sum(axis=0, keepdims=True)       # (3, 4) / (1, 4)
print(np.round(xn.to_numpy(share) * 100, 1))
share.sum().backward()
print("gradient shape:", A.grad.shape)
"""

NOTEBOOKS["05_gradient_checking.ipynb"] = """
# %% [markdown]
# # 5. Gradient checking
#
# The notes: dθ_approx = (J(θ + ε) - J(θ - ε)) / (2ε), and the relative difference
# ‖dθ_approx - dθ‖₂ / (‖dθ_approx‖₂ + ‖dθ‖₂), to compare with about 1e-7 (the course's
# rule: below 1e-7 great, around 1e-5 look closer, above 1e-3 a bug). First by hand, then
# with `xn.gradcheck`, which computes the same quantity in float64.
# %%
{SETUP}
# %%
rng = np.random.default_rng(0)
X, Y = rng.standard_normal((16, 3)), (rng.random((16, 1)) > 0.5).astype(float)
w0 = rng.standard_normal((3, 1))
W = xn.Tensor(w0, requires_grad=True)       # float64, as gradient checking needs

def J_of(w):
    A = (xn.Tensor(X) @ w).sigmoid()
    return -(xn.Tensor(Y) * A.log() + (1 - xn.Tensor(Y)) * (1 - A).log()).mean()

J_of(W).backward()
dtheta = xn.to_numpy(W.grad).ravel()
eps, approx = 1e-7, np.zeros(3)
for i in range(3):
    plus, minus = w0.copy(), w0.copy()
    plus[i, 0] += eps; minus[i, 0] -= eps
    approx[i] = (J_of(xn.Tensor(plus)).item() - J_of(xn.Tensor(minus)).item()) / (2 * eps)
diff = np.linalg.norm(approx - dtheta) / (np.linalg.norm(approx) + np.linalg.norm(dtheta))
print(f"relative difference {{diff:.2e}} ->", "great" if diff < 1e-7 else "look closer")
# %%
result = xn.gradcheck(J_of, w0)
print(result)
# %% [markdown]
# A bug in a backward pass is caught: here a sigmoid whose derivative forgets a factor.
# %%
class BadSigmoid(xn.Function):
    def forward(self, x):
        self.s = 1 / (1 + self.xp.exp(-x))
        return self.s
    def backward(self, grad):
        return (grad * self.s,)            # wrong: should be grad * s * (1 - s)

bad = xn.gradcheck(lambda t: BadSigmoid.apply(t).sum(), rng.standard_normal((4, 3)),
                   raise_on_failure=False)
print(f"relative error {{bad.max_error:.2e}} -> passed: {{bad.passed}}")
assert diff < 1e-7 and result.passed and not bad.passed and bad.max_error > 1e-3
"""

NOTEBOOKS["06_regularization.ipynb"] = """
# %% [markdown]
# # 6. L2 regularization and inverted dropout against overfitting
#
# The notes: the cost gains (λ / 2m) Σ‖W‖²_F, so dW gains (λ / m) W; and inverted dropout
# keeps each unit with probability `keep_prob` and divides by it:
# `d = rand(...) < keep_prob; a = a * d / keep_prob`. In Keras terms the penalty is
# `kernel_regularizer=L2(λ / (2m))` and dropout is `Dropout(rate=1 - keep_prob)`.
# %%
{SETUP}
# %%
lam, m = 0.7, 4
W = xn.Parameter(np.random.default_rng(0).standard_normal((3, 2)))
penalty = xn.regularizers.L2(lam / (2 * m))(W)
penalty.backward()
print("penalty:", penalty.item(), "=", lam / (2 * m) * float(np.sum(xn.to_numpy(W) ** 2)))
print("gradient = (lambda / m) W:", np.allclose(xn.to_numpy(W.grad), lam / m * xn.to_numpy(W)))
# %%
keep_prob = 0.8
a = np.ones((1000, 50), np.float32)
out = xn.to_numpy(xn.layers.Dropout(rate=1 - keep_prob)(a, training=True))
print("kept fraction %.3f, kept values %s, mean %.3f (inverted: the mean stays 1)"
      % ((out > 0).mean(), np.unique(out[out > 0]), out.mean()))
# %% [markdown]
# An overfitting problem: 60 noisy points, a wide network, full-batch training; then the
# same network with L2 and with dropout. Training (solid) against test (dashed) loss:
# %%
X, y = xn.datasets.make_moons(n_samples=400, noise=0.35, seed=3)
Xtr, ytr, Xte, yte = X[:60], y[:60, None], X[60:], y[60:, None]

def make(l2=0.0, drop=0.0):
    xn.set_seed(1)
    reg = xn.regularizers.L2(l2) if l2 else None
    layers = [xn.Input((2,))]
    for _ in range(2):
        layers.append(xn.layers.Dense(100, "relu", kernel_regularizer=reg))
        if drop:
            layers.append(xn.layers.Dropout(drop))
    layers.append(xn.layers.Dense(1, "sigmoid", kernel_regularizer=reg))
    model = xn.Sequential(layers)
    model.compile(xn.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    return model.fit(Xtr, ytr, epochs=120, batch_size=60, validation_data=(Xte, yte), verbose=0)

runs = {{"none": make(), "L2, lambda/(2m) = 0.005": make(l2=0.005), "dropout 0.5": make(drop=0.5)}}
fig, axes = plt.subplots(1, 3, figsize=(13, 3.5), sharey=True)
for ax, (name, h) in zip(axes, runs.items()):
    xn.plotting.plot_history(h, metrics=["loss"], ax=ax)
    ax.set_title(f"{{name}}: test acc {{h.history['val_accuracy'][-1]:.2f}}")
plt.show()
"""

NOTEBOOKS["07_input_normalization.ipynb"] = """
# %% [markdown]
# # 7. Normalizing the inputs
#
# The notes say: subtract the mean μ, then divide by the variance σ². **That is a slip:**
# dividing by σ² leaves a variance of 1/σ², not 1. Divide by the standard deviation σ:
# x_norm = (x - μ) / σ, with μ and σ from the training set, reused on the test set.
# %%
{SETUP}
# %%
rng = np.random.default_rng(0)
X = np.c_[rng.normal(50, 10, 500), rng.normal(0, 0.1, 500)]   # features on different scales
mu, var = X.mean(0), X.var(0)
wrong = (X - mu) / var            # the notes' formula, as written
right = (X - mu) / np.sqrt(var)   # standardize
print("variance after / sigma^2:", wrong.var(0).round(4))
print("variance after / sigma:  ", right.var(0).round(4))
norm = xn.layers.Normalization()
norm.adapt(X)
print("xn.layers.Normalization agrees:", np.allclose(xn.to_numpy(norm(X)), right, atol=1e-4))
# %% [markdown]
# Why it matters: gradient descent on unnormalized features needs a tiny learning rate
# (the cost is a long thin valley) and crawls; on standardized ones it converges fast.
# %%
y = (X[:, 0] - 50 + 100 * X[:, 1] > 0).astype(np.float32)[:, None]
curves = {{}}
for name, data, lr in [("raw (lr 1e-4)", X, 1e-4), ("standardized (lr 0.5)", right, 0.5)]:
    xn.set_seed(0)
    model = xn.Sequential([xn.Input((2,)), xn.layers.Dense(1, "sigmoid")])
    model.compile(xn.optimizers.SGD(lr), "binary_crossentropy")
    curves[name] = model.fit(data, y, epochs=60, batch_size=500, verbose=0).history["loss"]
for name, c in curves.items():
    plt.plot(c, label=name)
plt.xlabel("epoch"); plt.ylabel("loss"); plt.legend(); plt.show()
"""

NOTEBOOKS["08_batch_normalization.ipynb"] = """
# %% [markdown]
# # 8. Batch normalization
#
# The notes: z_norm = (z - μ) / sqrt(σ² + ε), then z̃ = γ z_norm + β with learned γ, β,
# μ and σ² over the mini-batch. We compute it by hand and compare with
# `xn.layers.BatchNormalization` in training mode (Keras's ε = 1e-3).
# %%
{SETUP}
# %%
rng = np.random.default_rng(0)
z = rng.normal(3.0, 2.0, (32, 4)).astype(np.float32)
bn = xn.layers.BatchNormalization()
out = xn.to_numpy(bn(z, training=True))
mu, var = z.mean(0), z.var(0)
by_hand = (z - mu) / np.sqrt(var + 1e-3) * 1.0 + 0.0      # gamma = 1, beta = 0 at the start
print("max |by hand - layer| =", np.abs(out - by_hand).max())
print("per-feature mean", out.mean(0).round(4), "and std", out.std(0).round(3))
# %% [markdown]
# A deeper sigmoid network trains faster with batch normalization between its layers:
# %%
(x_train, y_train), (x_test, y_test) = xn.datasets.digits.load_data()
x_train = x_train.reshape(len(x_train), -1).astype(np.float32) / 16
x_test = x_test.reshape(len(x_test), -1).astype(np.float32) / 16

def net(bn):
    xn.set_seed(0)
    layers = [xn.Input((64,))]
    for _ in range(4):
        layers += [xn.layers.Dense(64)] + ([xn.layers.BatchNormalization()] if bn else [])
        layers += [xn.layers.Activation("sigmoid")]
    model = xn.Sequential(layers + [xn.layers.Dense(10, "softmax")])
    model.compile(xn.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x_train, y_train, epochs=8, batch_size=32,
                     validation_data=(x_test, y_test), verbose=0)

for name, h in [("plain", net(False)), ("batch norm", net(True))]:
    plt.plot(h.history["val_accuracy"], label=name)
plt.xlabel("epoch"); plt.ylabel("test accuracy"); plt.legend(); plt.show()
"""

NOTEBOOKS["09_initialization.ipynb"] = """
# %% [markdown]
# # 9. Initialization: zeros, x0.01, Xavier, He
#
# The notes: zeros make every unit of a layer the same (symmetry); `randn * 0.01` is fine
# for shallow nets; Xavier `randn * sqrt(1 / n[l-1])` for tanh and He
# `randn * sqrt(2 / n[l-1])` for ReLU keep the activations' spread layer after layer.
# xpnet names them by their formula: `course_xavier_normal` (= `lecun_normal_untruncated`)
# and `course_he_normal` (= `he_normal_untruncated`); Keras's `glorot_*`/`he_normal` keep
# Keras's definitions (see the initializers table in the README).
# %%
{SETUP}
# %%
inits = {{"zeros": "zeros", "x0.01": "small_random",
          "Xavier sqrt(1/n)": "course_xavier_normal", "He sqrt(2/n)": "course_he_normal"}}
x = np.random.default_rng(0).standard_normal((500, 256)).astype(np.float32)
fig, axes = plt.subplots(2, 4, figsize=(14, 5.5))
for row, act in enumerate(["tanh", "relu"]):
    for ax, (label, init) in zip(axes[row], inits.items()):
        a, spreads = x, []
        for layer in range(8):
            a = xn.to_numpy(xn.layers.Dense(256, act, kernel_initializer=init)(a))
            spreads.append(a.std())
            if layer in (0, 3, 7):
                ax.hist(a.ravel(), bins=40, histtype="step", label=f"layer {{layer + 1}}")
        ax.set_title(f"{{act}}, {{label}}\\nstd at layer 8: {{spreads[-1]:.2g}}", fontsize=9)
        ax.set_yscale("log")
axes[0, 0].legend(fontsize=7)
fig.tight_layout(); plt.show()
# %% [markdown]
# Training the same small network on the two moons from each start: zeros never breaks the
# symmetry (every hidden unit stays identical), x0.01 starts slowly, Xavier and He learn.
# %%
X, y = xn.datasets.make_moons(n_samples=300, noise=0.15, seed=0)
for label, init in inits.items():
    xn.set_seed(0)
    model = xn.Sequential([xn.Input((2,)), xn.layers.Dense(16, "tanh", kernel_initializer=init),
                           xn.layers.Dense(16, "tanh", kernel_initializer=init),
                           xn.layers.Dense(1, "sigmoid", kernel_initializer=init)])
    model.compile(xn.optimizers.SGD(0.5), "binary_crossentropy", metrics=["accuracy"])
    h = model.fit(X, y[:, None], epochs=60, batch_size=300, verbose=0)
    plt.plot(h.history["loss"], label=f"{{label}} (acc {{h.history['accuracy'][-1]:.2f}})")
plt.xlabel("epoch"); plt.ylabel("loss"); plt.legend(); plt.show()
"""

NOTEBOOKS["10_optimizers.ipynb"] = """
# %% [markdown]
# # 10. Exponentially weighted averages, momentum, RMSprop, Adam
#
# The notes: V_t = β V_{{t-1}} + (1 - β) θ_t, about the last 1 / (1 - β) values, with bias
# correction V_t / (1 - β^t). (The notes print the update as β V_{{t-1}} + (1 - β θ_t);
# the right factor is (1 - β) times θ_t, as here.) `xn.averages` has it for floats, arrays
# and Tensors.
# %%
{SETUP}
# %%
rng = np.random.default_rng(0)
days = np.arange(1, 181)
temps = 15 + 10 * np.sin(days / 30) + rng.normal(0, 3, days.size)
plt.figure(figsize=(9, 3.5))
plt.scatter(days, temps, s=6, color="0.6", label="theta_t")
plt.plot(days, xn.averages.ewma(temps, beta=0.9), label="beta 0.9 (about 10 days)")
plt.plot(days, xn.averages.ewma(temps, beta=0.98), label="beta 0.98, bias-corrected")
plt.plot(days, xn.averages.ewma(temps, beta=0.98, bias_correction=False),
         label="beta 0.98, no correction (starts near 0)")
plt.legend(fontsize=8); plt.xlabel("day"); plt.show()
# %% [markdown]
# Momentum, RMSprop and Adam apply these averages to the gradients. Their paths on an
# elongated bowl, J(w) = w₀² / 20 + w₁² (plus a tilt), from the same start:
# %%
def J(w):
    return w[0] ** 2 / 20 + w[1] ** 2 + 0.1 * w[0]

def path(opt, steps=60):
    w = xn.Parameter(np.array([-8.0, 2.0], np.float32))
    points = [xn.to_numpy(w).copy()]
    for _ in range(steps):
        opt.zero_grad([w]); J(w).backward(); opt.step([w])
        points.append(xn.to_numpy(w).copy())
    return np.array(points)

opts = {{"SGD": xn.optimizers.SGD(0.3),
        "momentum (beta 0.9)": xn.optimizers.SGD(0.05, momentum=0.9),
        "RMSprop": xn.optimizers.RMSprop(0.3, epsilon_placement="textbook"),
        "Adam": xn.optimizers.Adam(0.5, epsilon_placement="textbook")}}
g0, g1 = np.meshgrid(np.linspace(-9, 3, 200), np.linspace(-3, 3, 200))
plt.figure(figsize=(9, 5))
plt.contour(g0, g1, J(np.stack([g0, g1])), 30, cmap="Greys", linewidths=0.6)
for name, opt in opts.items():
    p = path(opt)
    plt.plot(p[:, 0], p[:, 1], "-o", ms=2, label=f"{{name}}: J = {{J(p[-1]):.3f}}")
plt.legend(fontsize=8); plt.title("60 steps from (-8, 2)"); plt.show()
# %% [markdown]
# `epsilon_placement="textbook"` puts ε where the notes and PyTorch put it,
# m̂ / (sqrt(v̂) + ε); Keras's default adds it before the bias correction. The two differ
# only for gradients near ε:
# %%
for placement in ("keras", "textbook"):
    w = xn.Parameter(np.zeros(2, np.float32))
    xn.optimizers.Adam(1.0, epsilon=1e-6, epsilon_placement=placement).apply(
        [xn.backend.asarray(np.array([1e-6, 1e-2], np.float32))], [w])
    print(f"{{placement:8s}} first step for g = 1e-6 and 1e-2:", -xn.to_numpy(w))
"""

NOTEBOOKS["11_multiclass_multilabel.ipynb"] = """
# %% [markdown]
# # 11. Multi-class vs multi-label
#
# Multi-class: one label per example, a softmax output (probabilities summing to 1) and
# categorical cross-entropy. Multi-label: any number of labels, one sigmoid per label
# (each in [0, 1] on its own) and binary cross-entropy.
# %%
{SETUP}
# %%
X, y = xn.datasets.make_blobs(n_samples=600, centers=3, n_features=2, seed=0)
multi_class = xn.Sequential([xn.Input((2,)), xn.layers.Dense(16, "relu"),
                             xn.layers.Dense(3, "softmax")])
multi_class.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
h = multi_class.fit(X, y, epochs=30, batch_size=32, verbose=0)
p = xn.to_numpy(multi_class.predict(X[:3], verbose=0))
print("softmax rows:", p.round(3), "sums:", p.sum(1).round(4))
# %%
Xm, Ym = xn.datasets.make_multilabel(n_samples=600, seed=0)
print("labels per example:", np.unique(Ym.sum(1)))
multi_label = xn.Sequential([xn.Input((Xm.shape[1],)), xn.layers.Dense(32, "relu"),
                             xn.layers.Dense(Ym.shape[1], "sigmoid")])
multi_label.compile("adam", "binary_crossentropy", metrics=["binary_accuracy"])
h2 = multi_label.fit(Xm, Ym, epochs=30, batch_size=32, verbose=0)
q = xn.to_numpy(multi_label.predict(Xm[:3], verbose=0))
print("sigmoid rows:", q.round(3), "sums:", q.sum(1).round(3), "(need not be 1)")
# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
xn.plotting.plot_history(h, metrics=["accuracy"], ax=axes[0]); axes[0].set_title("multi-class")
xn.plotting.plot_history(h2, metrics=["binary_accuracy"], ax=axes[1])
axes[1].set_title("multi-label")
plt.show()
"""

NOTEBOOKS["12_cnn.ipynb"] = """
# %% [markdown]
# # 12. A convolutional network
#
# A small CNN on the bundled 8x8 digits: convolution, max pooling, a dense classifier.
# (`examples/cnn_digits.py` is the long version.)
# %%
{SETUP}
# %%
(x_train, y_train), (x_test, y_test) = xn.datasets.digits.load_data()
x_train = x_train[..., None].astype(np.float32) / 16      # (N, 8, 8, 1), channels last
x_test = x_test[..., None].astype(np.float32) / 16
model = xn.Sequential([
    xn.Input((8, 8, 1)),
    xn.layers.Conv2D(8, 3, padding="same", activation="relu"),
    xn.layers.MaxPooling2D(2),
    xn.layers.Conv2D(16, 3, padding="same", activation="relu"),
    xn.layers.Flatten(),
    xn.layers.Dense(10, "softmax"),
])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
model.summary()
h = model.fit(x_train, y_train, epochs=5, batch_size=32, validation_data=(x_test, y_test),
              verbose=0)
print(f"test accuracy after 5 epochs: {{h.history['val_accuracy'][-1]:.3f}}")
# %%
kernels = xn.to_numpy(model.layers[0].kernel)              # (3, 3, 1, 8)
fig, axes = plt.subplots(1, 9, figsize=(13, 1.8))
for i in range(8):
    axes[i].imshow(kernels[:, :, 0, i], cmap="RdBu"); axes[i].set_title(f"filter {{i}}", fontsize=8)
axes[8].imshow(x_test[0, :, :, 0], cmap="gray_r"); axes[8].set_title(f"digit {{y_test[0]}}")
for ax in axes:
    ax.axis("off")
plt.show()
"""

NOTEBOOKS["13_lstm.ipynb"] = """
# %% [markdown]
# # 13. An LSTM
#
# A recurrent network reads a sequence one step at a time and carries a state. The task:
# a sequence of random ±1 steps; say whether its running sum ends above zero. A model that
# sees only the last input cannot know; the LSTM's state counts.
# %%
{SETUP}
# %%
rng = np.random.default_rng(0)
steps = rng.choice([-1.0, 1.0], size=(1200, 15, 1)).astype(np.float32)
label = (steps.sum(axis=(1, 2)) > 0).astype(np.float32)[:, None]
model = xn.Sequential([xn.Input((15, 1)), xn.layers.LSTM(16), xn.layers.Dense(1, "sigmoid")])
model.compile(xn.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
h = model.fit(steps[:1000], label[:1000], epochs=12, batch_size=50,
              validation_data=(steps[1000:], label[1000:]), verbose=0)
print(f"test accuracy: {{h.history['val_accuracy'][-1]:.3f}}")
xn.plotting.plot_history(h)
plt.show()
"""

NOTEBOOKS["14_attention.ipynb"] = """
# %% [markdown]
# # 14. Attention
#
# Scaled dot-product attention: softmax(Q Kᵀ / sqrt(d)) V. Each output row is a weighted
# average of the rows of V, the weights saying how much each query attends to each key.
# We compute it with NumPy, with xpnet's autograd (and check its gradient), and read the
# weights from `xn.layers.MultiHeadAttention`.
# %%
{SETUP}
# %%
rng = np.random.default_rng(0)
T, d = 6, 4
Q, K, V = (rng.standard_normal((T, d)) for _ in range(3))
scores = Q @ K.T / np.sqrt(d)
weights = np.exp(scores - scores.max(1, keepdims=True))
weights /= weights.sum(1, keepdims=True)
out_numpy = weights @ V

def attention(q, k, v):
    return xn.activations.softmax(q @ k.T * (1 / np.sqrt(d)), axis=-1) @ v

out_xpnet = attention(xn.Tensor(Q), xn.Tensor(K), xn.Tensor(V))
print("max |NumPy - xpnet| =", np.abs(out_numpy - xn.to_numpy(out_xpnet)).max())
print(xn.gradcheck(attention, Q, K, V))
# %%
mha = xn.layers.MultiHeadAttention(num_heads=2, key_dim=4)
x = rng.standard_normal((1, T, 8)).astype(np.float32)
out, att = mha(x, x, return_attention_scores=True, use_causal_mask=True)
att = xn.to_numpy(att)                                   # (batch, heads, T, T)
fig, axes = plt.subplots(1, 3, figsize=(11, 3.3))
axes[0].imshow(weights, cmap="viridis"); axes[0].set_title("NumPy weights")
for h in range(2):
    axes[h + 1].imshow(att[0, h], cmap="viridis")
    axes[h + 1].set_title(f"MHA head {{h}} (causal: no look ahead)")
for ax in axes:
    ax.set_xlabel("key"); ax.set_ylabel("query")
plt.show()
print("rows sum to 1:", np.allclose(att.sum(-1), 1, atol=1e-5))
"""


def cells_of(source: str) -> list:
    """Split a source into nbformat cells (see the module docstring)."""
    cells, kind, lines = [], None, []

    def flush():
        if kind is None:
            return
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            text = "\n".join(
                line[2:] if line.startswith("# ") else line.lstrip("#")
                for line in text.splitlines()
            )
            cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            cells.append(nbformat.v4.new_code_cell(text))

    for line in source.format(SETUP=SETUP).strip("\n").splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        else:
            lines.append(line)
    flush()
    return cells


def notebook(source: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells_of(source)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:02d}"  # stable ids: the files do not change between builds
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return nb


def render(name: str) -> str:
    return nbformat.writes(notebook(NOTEBOOKS[name])) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only check the stored files")
    args = p.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        path, text = HERE / name, render(name)
        if path.exists() and path.read_text() == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text)
    if args.check and stale:
        print("stale notebooks (run python examples/notebooks/build.py):", ", ".join(stale))
        return 1
    print(("stale: " if args.check else "written: ") + (", ".join(stale) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
