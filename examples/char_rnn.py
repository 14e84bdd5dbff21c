"""A character-level GRU language model that learns to write like a short story.

    python examples/char_rnn.py                          # train, then sample 400 characters
    python examples/char_rnn.py --temperature 0.5        # safer, more repetitive samples
    python examples/char_rnn.py --text my_book.txt       # any plain-text file

The model reads 48 characters and predicts each next one: ids -> Embedding ->
GRU -> Dense over the alphabet. To write, it is fed one character at a time,
carrying the GRU's state from step to step, and the next character is drawn
from softmax(logits / temperature): low temperatures pick the likeliest
characters, high ones take more risks. (xn.layers.LSTM fits in the same place;
its state is the pair (h, c). On this text the GRU learns faster per second.)

The bundled text, examples/data/lighthouse.txt, was written for xpnet
(see examples/data/README.md); it is about 7.6 KB, so the model learns its
words and phrases rather than English at large.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

import xpnet as xn

TEXT = Path(__file__).resolve().parent / "data" / "lighthouse.txt"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--backend", default=os.environ.get("XPNET_BACKEND", "numpy"), choices=xn.backend.BACKENDS
    )
    p.add_argument("--device", default=None, help="device of the backend (e.g. cuda:0)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))
    p.add_argument(
        "--steps-per-epoch", type=int, default=None, help="batches per epoch (default: all)"
    )
    p.add_argument("--text", type=Path, default=TEXT, help="plain-text file to learn from")
    p.add_argument("--seq-length", type=int, default=48, help="characters per training window")
    p.add_argument("--temperature", type=float, default=0.6)
    p.add_argument("--length", type=int, default=400, help="characters to sample")
    p.add_argument("--prompt", default="The keeper ")
    return p.parse_args(argv)


def windows(ids: np.ndarray, length: int, step: int):
    """Overlapping windows: inputs ids[i : i+length], targets shifted by one character."""
    starts = np.arange(0, len(ids) - length - 1, step)
    x = np.stack([ids[s : s + length] for s in starts])
    y = np.stack([ids[s + 1 : s + length + 1] for s in starts])
    return x, y


def sample(embed, rnn, head, prompt_ids, length, temperature, rng) -> list[int]:
    """Feed the prompt, then draw ``length`` characters one at a time, carrying the state."""
    out = list(prompt_ids)
    with xn.no_grad():
        seq, *state = rnn(embed(np.asarray([prompt_ids])))  # read the whole prompt at once
        for _ in range(length):
            logits = xn.to_numpy(head(seq[:, -1, :]))[0].astype(np.float64)
            p = np.exp((logits - logits.max()) / temperature)  # softmax(logits / T)
            out.append(int(rng.choice(len(p), p=p / p.sum())))
            seq, *state = rnn(embed(np.asarray([out[-1:]])), initial_state=state)
    return out


def main(argv=None) -> str:
    args = parse_args(argv)
    xn.set_backend(args.backend, args.device)
    xn.set_seed(args.seed)

    text = args.text.read_text(encoding="utf-8")
    chars = sorted(set(text))
    index = {ch: i for i, ch in enumerate(chars)}
    unknown = sorted(set(args.prompt) - set(chars))
    if not args.prompt or unknown or args.temperature <= 0:
        sys.exit(
            f"--prompt needs at least one character, all of them in {args.text.name} "
            f"(not in it: {unknown}), and --temperature must be positive"
        )
    if len(text) < args.seq_length + 2:
        sys.exit(f"{args.text} has fewer than --seq-length + 2 = {args.seq_length + 2} characters")
    ids = np.array([index[ch] for ch in text], dtype=np.int64)
    x, y = windows(ids, args.seq_length, step=4)
    print(f"{len(text)} characters, {len(chars)} distinct; {len(x)} windows of {args.seq_length}")

    # a functional model whose GRU also returns its final state: training ignores it,
    # sampling (which calls the same layers directly) carries it from step to step
    embed = xn.layers.Embedding(len(chars), 32)
    gru = xn.layers.GRU(128, return_sequences=True, return_state=True)
    head = xn.layers.Dense(len(chars))  # logits over the alphabet
    inputs = xn.Input(shape=(args.seq_length,), dtype="int64")
    seq, _ = gru(embed(inputs))
    model = xn.Model(inputs, head(seq))
    model.compile(
        optimizer=xn.optimizers.Adam(learning_rate=0.003),
        loss=xn.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.summary()

    start = time.perf_counter()
    history = model.fit(
        x,
        y,
        batch_size=64,
        epochs=args.epochs,
        verbose=args.verbose,
        steps_per_epoch=args.steps_per_epoch,
    )
    seconds = time.perf_counter() - start
    loss = history.history["loss"][-1]
    accuracy = history.history["accuracy"][-1]
    backend = xn.get_backend()
    # perplexity exp(loss): as unsure as a uniform choice among that many characters
    print(
        f"training next-character accuracy {accuracy:.4f}, loss {loss:.4f}, perplexity "
        f"{np.exp(loss):.2f} (uniform guessing: {len(chars)}) on {backend.name} "
        f"[{backend.device}] after {args.epochs} epochs in {seconds:.1f}s"
    )

    rng = np.random.default_rng(args.seed)
    prompt = [index[ch] for ch in args.prompt]
    written = sample(embed, gru, head, prompt, args.length, args.temperature, rng)
    text_out = "".join(chars[i] for i in written)
    print(f"--- sample (temperature {args.temperature}, seed {args.seed}) ---")
    print(text_out)
    return text_out


if __name__ == "__main__":
    main()
