"""Hostile and broken model files: each loads or raises LoadError naming file and member.

The files come from tests/hostile_files.py (also timed by benchmarks/hostile_load.py);
a property-based fuzz (hypothesis) mutates bytes and JSON values of a valid file.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xpnet as xn
from hostile_files import base_model, field_mutations, hostile_files, members_of, zip_of
from xpnet.saving import LoadError

# files that are valid despite their oddity (a defined result, checked below)
LOADS = {"good", "npy_fortran", "optimizer_iterations_huge"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    with xn.use_backend("numpy"):
        return hostile_files(tmp_path_factory.mktemp("hostile"), fields=False)


NAMES = [
    "empty", "not_a_zip", "truncated_10", "truncated_100", "bit_flip_middle",
    "config_declares_2GB", "weights_declares_4GB", "comp_size_past_end", "offset_past_end",
    "encrypted_flag", "unknown_compression", "bzip2_member", "duplicate_weights",
    "duplicate_metadata", "members_100001", "config_bomb_64MB", "metadata_bomb_64MB",
    "weights_bomb_64MB",
    "inner_npy_bomb", "deep_json_config", "deep_json_metadata", "json_depth_1000",
    "json_not_utf8", "json_invalid", "json_nan", "format_version_1e400", "metadata_is_list",
    "optimizer_json_is_list", "config_is_string", "class_name_null", "nested_200_sequentials",
    "functional_empty_inputs", "dense_units_4e8", "dense_units_float", "orthogonal_6000",
    "input_shape_1e9", "input_shape_1e5x1e5", "npy_shape_1e10", "npy_shape_negative",
    "npy_object_dtype", "npy_complex", "npy_string", "npy_structured", "npy_bad_magic",
    "npy_header_garbage", "npy_header_huge", "npy_version_9", "npy_short_data",
    "npy_wrong_shape", "npy_float64_1e300", "weights_missing_one", "weights_extra_one",
    "inner_duplicate_npy", "weights_npz_not_zip", "optimizer_npz_missing", "optimizer_nan",
    "optimizer_negative_velocity", "optimizer_complex", "optimizer_string",
    "optimizer_wrong_shape", "optimizer_iterations_negative", "optimizer_iterations_float",
    "optimizer_extra_key", "random_json_garbage", "random_json_list",
]  # fmt: skip


def test_every_named_file_is_generated(files):
    assert set(NAMES) | LOADS <= set(files)
    assert len(files) >= 70


@pytest.mark.parametrize("name", NAMES)
def test_hostile_file_raises_load_error_naming_the_file(files, name):
    path = files[name]
    with pytest.raises(LoadError) as info:
        xn.models.load_model(path)
    assert str(path) in str(info.value)


def test_member_is_named(files):
    for name, member in [
        ("config_declares_2GB", "config.json"),
        ("encrypted_flag", "config.json"),
        ("duplicate_weights", "weights.npz"),
        ("npy_shape_1e10", ".npy"),
        ("optimizer_nan", "optimizer.npz"),
        ("deep_json_config", "config.json"),
        ("orthogonal_6000", "config.json"),
    ]:
        with pytest.raises(LoadError, match=rf"\[{member}|{member}\]|{member}"):
            xn.models.load_model(files[name])


@pytest.mark.parametrize("name", sorted(LOADS))
def test_odd_but_valid_files_load(files, name):
    model = xn.models.load_model(files[name])
    assert len(model.get_weights()) == 8  # 2 Dense x 2 + BatchNormalization x 4


def test_optimizer_declared_but_missing_refuses(files):
    with pytest.raises(LoadError, match="says the file holds an optimizer state"):
        xn.models.load_model(files["optimizer_npz_missing"])
    # with the metadata saying nothing (a file from before the flag) both members missing is fine
    with pytest.raises(LoadError, match="optimizer.json"):
        xn.models.load_model(files["optimizer_both_missing"])


def test_cast_overflow_and_optimizer_values_are_named(files):
    with pytest.raises(LoadError, match="out of range of float32"):
        xn.models.load_model(files["npy_float64_1e300"])
    with pytest.raises(LoadError, match="NaN"):
        xn.models.load_model(files["optimizer_nan"])
    with pytest.raises(LoadError, match="velocity must be >= 0"):
        xn.models.load_model(files["optimizer_negative_velocity"])
    with pytest.raises(LoadError, match="iterations must be >= 0"):
        xn.models.load_model(files["optimizer_iterations_negative"])


def test_loading_weights_only_checks_the_same_way(files):
    model = base_model()
    for name in ("npy_shape_1e10", "duplicate_weights", "encrypted_flag", "npy_object_dtype"):
        with pytest.raises(LoadError):
            model.load_weights(files[name])


def test_field_level_mutations_load_or_raise_load_error(tmp_path):
    """A wrong value in every field of every JSON member: LoadError or a model."""
    good = tmp_path / "good.xpnet"
    base_model().save(good)
    parts = members_of(good)
    outcomes = {"loaded": 0, "LoadError": 0}
    for member in ("metadata.json", "config.json", "optimizer.json", "random.json"):
        for label, p in field_mutations(parts, member):
            path = tmp_path / "m.xpnet"
            path.write_bytes(zip_of(p))
            try:
                xn.models.load_model(path)
                outcomes["loaded"] += 1
            except LoadError:
                outcomes["LoadError"] += 1
            except Exception as err:
                pytest.fail(f"{label}: {type(err).__name__}: {err}")
    assert outcomes["LoadError"] > 1000, outcomes


def test_loading_makes_no_random_draw(tmp_path):
    """Rebuilding runs no initializer: a file without a random state leaves it alone."""
    path = tmp_path / "m.xpnet"
    base_model().save(path)
    parts = {k: v for k, v in members_of(path).items() if k != "random.json"}
    path.write_bytes(zip_of(parts))
    xn.set_seed(123)
    before = xn.backend.host_rng().bit_generator.state
    xn.models.load_model(path)
    assert xn.backend.host_rng().bit_generator.state == before


# --------------------------------------------------------------------------- fuzz


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "good.xpnet"
    with xn.use_backend("numpy"):
        base_model().save(path)
    return path.read_bytes()


_TARGET = []  # one model for load_weights, built at the first fuzz example


def _load_bytes(tmp_path, raw: bytes) -> None:
    """Both loaders: each returns or raises LoadError (anything else fails the test)."""
    path = tmp_path / "fuzz.xpnet"
    path.write_bytes(raw)
    try:
        xn.models.load_model(path)
    except LoadError:
        pass
    if not _TARGET:
        _TARGET.append(base_model())
    try:
        _TARGET[0].load_weights(path)
    except LoadError:
        pass


_FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


@_FUZZ
@given(data=st.data())
def test_fuzz_bytes(tmp_path, good_bytes, data):
    raw = bytearray(good_bytes)
    for _ in range(data.draw(st.integers(1, 8))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        i = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "flip" and raw:
            raw[i] ^= data.draw(st.integers(1, 255))
        elif kind == "cut":
            del raw[i : i + data.draw(st.integers(1, 64))]
        else:
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=16))
    _load_bytes(tmp_path, bytes(raw))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@_FUZZ
@given(data=st.data())
def test_fuzz_json_members(tmp_path, good_bytes, data):
    with zipfile.ZipFile(io.BytesIO(good_bytes)) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    member = data.draw(st.sampled_from([n for n in parts if n.endswith(".json")]))
    doc = json.loads(parts[member])
    paths = [()]
    stack = [((), doc)]
    while stack:
        p, o = stack.pop()
        items = o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, list) else ()
        for k, v in items:
            paths.append((*p, k))
            stack.append(((*p, k), v))
    path = data.draw(st.sampled_from(paths))
    value = data.draw(_JSON)
    if path:
        target = doc
        for k in path[:-1]:
            target = target[k]
        target[path[-1]] = value
    else:
        doc = value
    parts[member] = json.dumps(doc).encode()
    _load_bytes(tmp_path, zip_of(parts))


@pytest.fixture(scope="module")
def weights_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzzw") / "w.weights.npz"
    with xn.use_backend("numpy"):
        base_model().save_weights(path)
    return path.read_bytes()


@_FUZZ
@given(data=st.data())
def test_fuzz_weights_file_bytes(tmp_path, weights_bytes, data):
    raw = bytearray(weights_bytes)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= data.draw(st.integers(1, 255))
    _load_bytes(tmp_path, bytes(raw))
