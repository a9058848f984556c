"""A generated corpus of malformed inputs for every file type the app opens.

Each :class:`Case` writes its input under a folder and says how the app opens it (``argv`` of
``main.py``, or ``"project"`` for the GUI's :meth:`Project.load`). Kinds:

- hand-made cases of each type (hostile YAML, JSON that overflows, pickles that would run
  code, arrays that declare gigabytes, ...): every one must be refused;
- mutations of real files (the real CSI captures in ``../shared/data``, a demo config, a
  demo dataset JSON, a real checkpoint) truncated at several points or with bytes
  overwritten at seeded random offsets: these may still be valid (``may_pass``), and must
  never give a traceback.

The corpus is deterministic (seeded) so a failure names a case that can be rerun by its id.
"""

from __future__ import annotations

import io
import json
import pickle
import random
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data" / "csi"
DEMO_CONFIG = REPO / "resources" / "configs" / "demo_cpu.yaml"
#: Overrides that keep a model built for a weights case small (see tests/tiny_config.py).
TINY_MODEL = ["MODEL.MTN.OUTPUT_SIZE", "[64, 64]", "MODEL.MTN.ENCODER_DIMS", "[64]", "MODEL.MTN.FUSION_DIMS", "[128]"]


#: What each case of a session gave: id -> (outcome, peak RSS, peak above the RSS before), in bytes;
#: outcome is clear | problems | accepted | traceback | unclear.
RESULTS: dict[str, tuple[str, int, int]] = {}


def summary_lines() -> list[str]:
    """The counts the suite prints at the end (empty when no case ran)."""
    if not RESULTS:
        return []
    tally: dict[str, int] = {}
    for outcome, *_ in RESULTS.values():
        tally[outcome] = tally.get(outcome, 0) + 1
    sub = [k for k in RESULTS if k.endswith(" (subprocess)")]
    inproc = [k for k in RESULTS if k not in sub]
    lines = [
        f"fault corpus: {len(inproc)} inputs tried in-process, {len(sub)} of them again as subprocesses; "
        f"clear errors {tally.get('clear', 0)}, problem lists {tally.get('problems', 0)}, "
        f"still valid (mutations) {tally.get('accepted', 0)}, tracebacks {tally.get('traceback', 0)}, "
        f"unclear {tally.get('unclear', 0)}",
    ]
    if inproc:
        w = max(inproc, key=lambda k: RESULTS[k][2])
        lines.append(f"fault corpus: worst in-process input {w}: {RESULTS[w][2] / 2**20:.0f} MiB above the RSS before it "
                     f"(peak {RESULTS[w][1] / 2**20:.0f} MiB)")
    if sub:
        w = max(sub, key=lambda k: RESULTS[k][1])
        lines.append(f"fault corpus: worst subprocess {w}: peak RSS {RESULTS[w][1] / 2**20:.0f} MiB (whole process)")
    return lines


@dataclass
class Case:
    """One malformed input. ``make(folder)`` writes it and returns the argv (or ["project", dir])."""

    id: str
    kind: str
    make: Callable[[Path], list[str]]
    may_pass: bool = False  # may still be valid (a mutation of a valid file, an odd but usable value)


def _file(name: str, data: bytes | str | Callable[[], bytes], argv: Callable[[str], list[str]]) -> Callable[[Path], list[str]]:
    """Writes ``data`` (or what the callable returns: big or slow inputs are made when their case runs)."""

    def make(folder: Path) -> list[str]:
        p = folder / name
        raw = data() if callable(data) else data
        p.write_bytes(raw.encode("utf-8") if isinstance(raw, str) else raw)
        return argv(str(p))

    return make


def _npy(arr_header: str, body: bytes = b"") -> bytes:
    header = arr_header.encode("latin1")
    header += b" " * ((64 - (10 + len(header) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + body


def _zip(members: dict[str, bytes], compress: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _mutations(kind: str, name: str, seed_bytes: bytes, argv: Callable[[str], list[str]], n_cut: int, n_flip: int,
               seed: int) -> list[Case]:
    """Truncations at ``n_cut`` points and ``n_flip`` copies with 1-16 bytes overwritten (seeded)."""
    rng = random.Random(seed)
    out = []
    size = len(seed_bytes)
    cuts = sorted({max(1, int(size * f)) for f in np.linspace(0.02, 0.97, n_cut)} | {1, 7})
    for c in cuts[:n_cut]:
        out.append(Case(f"{kind}-{name}-cut{c}", kind, _file(name, seed_bytes[:c], argv), may_pass=True))
    for i in range(n_flip):
        b = bytearray(seed_bytes)
        near_start = i % 2 == 0  # half the flips hit the headers, where parsers decide sizes
        for _ in range(rng.randint(1, 16)):
            pos = rng.randrange(min(size, 512) if near_start else size)
            b[pos] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        out.append(Case(f"{kind}-{name}-flip{i}", kind, _file(name, bytes(b), argv), may_pass=True))
    return out


# --------------------------------------------------------------------------- configs


def _config_cases() -> list[Case]:
    def argv(p: str) -> list[str]:
        return ["config", "dump", "--config-file", p]

    base = f"_BASE_: {DEMO_CONFIG}\n"
    texts = {
        "syntax": "MODEL: [\n",
        "tab-indent": "MODEL:\n\tDEVICE: cpu\n",
        "binary": b"\x00\x89PNG\r\n\x1a\n" + bytes(range(256)),
        "invalid-utf8": b"MODEL:\n  DEVICE: \xff\xfe\n",
        "top-level-list": "- 1\n- 2\n",
        "top-level-int": "42\n",
        "python-tag": "!!python/object/apply:os.system ['touch /tmp/pwned']\n",
        "python-name": "MODEL: !!python/name:os.system\n",
        "unknown-key": base + "NOT_A_KEY: 1\n",
        "unknown-nested": base + "MODEL:\n  NO_SUCH: 1\n",
        "wrong-type-str": base + "SOLVER:\n  MAX_ITER: abc\n",
        "wrong-type-list": base + "SOLVER:\n  BASE_LR: [1, 2]\n",
        "wrong-type-dict": base + "MODEL: 3\n",
        "max-iter-0": base + "SOLVER:\n  MAX_ITER: 0\n",
        "max-iter-neg": base + "SOLVER:\n  MAX_ITER: -5\n",
        "ckpt-period-0": base + "SOLVER:\n  CHECKPOINT_PERIOD: 0\n",
        "ims-per-batch-0": base + "SOLVER:\n  IMS_PER_BATCH: 0\n",
        "output-size-0": base + "MODEL:\n  MTN:\n    OUTPUT_SIZE: [0, 0]\n",
        "packets-0": base + "INPUT:\n  CSI:\n    PACKETS_PER_SAMPLE: 0\n",
        "base-lr-nan": base + "SOLVER:\n  BASE_LR: .nan\n",
        "base-lr-inf": base + "SOLVER:\n  BASE_LR: .inf\n",
        "base-lr-neg": base + "SOLVER:\n  BASE_LR: -1.0\n",
        "min-loaded-2": base + "MODEL:\n  MIN_LOADED_FRACTION: 2.0\n",
        "big-int": base + "SOLVER:\n  MAX_ITER: " + "9" * 400 + "\n",
        "base-missing": "_BASE_: no_such_file.yaml\n",
        "base-is-dir": "_BASE_: .\n",
        "base-http": "_BASE_: http://example.invalid/a.yaml\n",
        "base-ftp": "_BASE_: ftp://example.invalid/a.yaml\n",
        "base-file-url": "_BASE_: file:///etc/passwd\n",
        "base-not-str": "_BASE_: [1, 2]\n",
        "base-binary-target": "_BASE_: /bin/sh\n",
        "base-builtin-traversal": "_BASE_: builtin://../../../etc/passwd.yaml\n",
        "base-builtin-folder": "_BASE_: builtin://sub/demo_cpu.yaml\n",
        "base-builtin-unknown": "_BASE_: builtin://no_such_config.yaml\n",
        "base-builtin-not-yaml": "_BASE_: builtin://README\n",
        "deep-flow": "A: " + "[" * 5000 + "]" * 5000 + "\n",
        "deep-block": "".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "v\n",
        "aliases": "a: &a [" + ",".join(["x"] * 10) + "]\n" + "".join(
            f"{c}: &{c} [" + ",".join([f"*{p}"] * 10) + "]\n" for p, c in zip("abcdefg", "bcdefgh")
        ),
        "huge": "# " + "x" * (300 << 10) + "\n",
        "many-keys": "".join(f"K{i}: {i}\n" for i in range(20000)),
        "dup-keys": base + "SEED: 1\nSEED: 2\nSEED: [\n",
        "null-bytes": "MODEL:\x00\n",
        "weights-ftp": base + "MODEL:\n  WEIGHTS: ftp://example.invalid/w.pkl\n",
    }
    cases = [Case(f"config-{k}", "config", _file("c.yaml", v, argv)) for k, v in texts.items()]

    def self_base(folder: Path) -> list[str]:
        (folder / "loop.yaml").write_text("_BASE_: loop.yaml\n")
        return argv(str(folder / "loop.yaml"))

    def deep_base(folder: Path) -> list[str]:
        for i in range(12):
            (folder / f"b{i}.yaml").write_text(f"_BASE_: b{i + 1}.yaml\n" if i < 11 else f"_BASE_: {DEMO_CONFIG}\n")
        return argv(str(folder / "b0.yaml"))

    def folder_as_config(folder: Path) -> list[str]:
        (folder / "d.yaml").mkdir()
        return argv(str(folder / "d.yaml"))

    cases += [Case("config-base-loop", "config", self_base), Case("config-base-depth-12", "config", deep_base),
              Case("config-is-a-folder", "config", folder_as_config)]
    cases += _mutations("config", "m.yaml", DEMO_CONFIG.read_bytes(), argv, 4, 8, seed=1)
    return cases


# --------------------------------------------------------------------------- dataset JSON


def _dataset_cases(valid: dict) -> list[Case]:
    def argv(p: str) -> list[str]:
        return ["validate-dataset", "--no-decode", p]

    def with_(fn: Callable[[dict], object]) -> str:
        d = json.loads(json.dumps(valid))
        fn(d)
        return json.dumps(d)

    def img(key: str, value: object) -> Callable[[dict], object]:
        return lambda d: d["images"][0].__setitem__(key, value)

    def ann(key: str, value: object) -> Callable[[dict], object]:
        return lambda d: d["annotations"][0].__setitem__(key, value)

    texts: dict[str, str | bytes] = {
        "not-json": "{images: []",
        "truncated": json.dumps(valid)[: len(json.dumps(valid)) // 2],
        "top-level-list": "[]",
        "top-level-str": '"x"',
        "empty-object": "{}",
        "binary": bytes(range(256)) * 4,
        "invalid-utf8": b'{"images": "\xff\xfe"}',
        "deep": "[" * 100_000 + "]" * 100_000,
        "nan": json.dumps(valid).replace('"height": ', '"height": NaN, "x": ', 1),
        "5000-digit": '{"images": [{"id": ' + "7" * 5000 + "}]}",
        "1e999": '{"images": [{"id": 1, "height": 1e999, "width": 10, "file_name": "a.png"}], "annotations": []}',
        "images-not-list": with_(lambda d: d.__setitem__("images", {"a": 1})),
        "annotations-str": with_(lambda d: d.__setitem__("annotations", "x")),
        "categories-int": with_(lambda d: d.__setitem__("categories", 3)),
        "image-is-list": with_(lambda d: d["images"].__setitem__(0, [1, 2])),
        "image-id-str": with_(img("id", "one")),
        "image-id-2e64": with_(img("id", 2**70)),
        "image-id-float": with_(img("id", 1.5)),
        "height-true": with_(img("height", True)),
        "height-neg": with_(img("height", -4)),
        "height-0": with_(img("height", 0)),
        "height-huge": with_(img("height", 10**30)),
        "width-str": with_(img("width", "wide")),
        "file-name-int": with_(img("file_name", 5)),
        "file-name-abs": with_(img("file_name", "/etc/passwd")),
        "file-name-traversal": with_(img("file_name", "../../../../etc/shadow")),
        "file-name-missing": with_(img("file_name", "nope.png")),
        "file-name-nul": with_(img("file_name", "a\x00b.png")),
        "csi-file-list": with_(img("csi_file", [1])),
        "csi-file-missing": with_(img("csi_file", "csi/none.npz")),
        "no-file-name": with_(lambda d: d["images"][0].pop("file_name")),
        "dup-image-ids": with_(lambda d: d["images"].append(dict(d["images"][0]))),
        "ann-image-missing": with_(ann("image_id", 987654)),
        "ann-id-str": with_(ann("id", "x")),
        "bbox-3": with_(ann("bbox", [1, 2, 3])),
        "bbox-str": with_(ann("bbox", "1 2 3 4")),
        "bbox-neg": with_(ann("bbox", [1, 2, -3, -4])),
        "bbox-nan-str": with_(ann("bbox", [1, 2, "nan", 4])),
        "bbox-huge": with_(ann("bbox", [0, 0, 1e308, 1e308])),
        "keypoints-50": with_(ann("keypoints", [1.0] * 50)),
        "keypoints-str": with_(ann("keypoints", ["a"] * 51)),
        "keypoints-dict": with_(ann("keypoints", {"x": 1})),
        "category-missing": with_(ann("category_id", 99)),
        "category-bool": with_(ann("category_id", True)),
        "dp-x-str": with_(ann("dp_x", "abc")),
        "dp-lengths": with_(lambda d: d["annotations"][0].update(dp_x=[1.0, 2.0], dp_y=[1.0], dp_I=[1], dp_U=[0.5], dp_V=[0.5])),
        "dp-masks-int": with_(ann("dp_masks", 7)),
        "iscrowd-str": with_(ann("iscrowd", "yes")),
        "area-list": with_(ann("area", [1])),
    }
    def with_files(make: Callable[[Path], list[str]]) -> Callable[[Path], list[str]]:
        def mk(folder: Path) -> list[str]:  # the files the valid dataset names exist (checked, not decoded)
            for rel in ("images/a.png", "csi/a.npz"):
                (folder / rel).parent.mkdir(exist_ok=True)
                (folder / rel).write_bytes(b"")
            return make(folder)

        return mk

    # odd but usable: a path outside the dataset folder that exists (datasets may live behind
    # symlinks), a frame with CSI and no image, an annotation id that is a string (ids only key them)
    usable = {"file-name-abs", "file-name-traversal", "no-file-name", "ann-id-str"}
    cases = [Case(f"dataset-{k}", "dataset", with_files(_file("d.json", v, argv)), may_pass=k in usable)
             for k, v in texts.items()]

    def folder_as_json(folder: Path) -> list[str]:
        (folder / "d.json").mkdir()
        return argv(str(folder / "d.json"))

    cases.append(Case("dataset-is-a-folder", "dataset", folder_as_json))
    cases += [Case(c.id, c.kind, with_files(c.make), c.may_pass)
              for c in _mutations("dataset", "m.json", json.dumps(valid).encode(), argv, 4, 10, seed=2)]
    return cases


# --------------------------------------------------------------------------- CSI files


def _csi_cases() -> list[Case]:
    def argv(p: str) -> list[str]:
        return ["csi-inspect", p]

    z = np.zeros((4, 30, 3, 3), np.complex64)
    good_npy = io.BytesIO()
    np.save(good_npy, z)
    texts: dict[str, tuple[str, bytes]] = {
        "npy-bad-magic": ("a.npy", b"\x93NUMPX" + good_npy.getvalue()[6:]),
        "npy-huge-shape": ("a.npy", _npy("{'descr': '<c8', 'fortran_order': False, 'shape': (100000, 114, 3, 3), }")),
        "npy-huge-shape-2": ("a.npy", _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2**40,), }")),
        "npy-neg-shape": ("a.npy", _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 30), }")),
        "npy-object": ("a.npy", _npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", pickle.dumps([1, 2]))),
        "npy-str": ("a.npy", _npy("{'descr': '<U3', 'fortran_order': False, 'shape': (2, 30), }", b"\x00" * 720)),
        "npy-0d": ("a.npy", _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", b"\x00" * 4)),
        "npy-empty": ("a.npy", _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 30), }")),
        "npy-5d": ("a.npy", _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1), }", b"\x00" * 4)),
        "npy-header-code": ("a.npy", _npy("__import__('os').system('touch /tmp/pwned')")),
        "npy-header-not-dict": ("a.npy", _npy("[1, 2, 3]")),
        "npy-short-data": ("a.npy", good_npy.getvalue()[:-100]),
        "npy-bad-dtype": ("a.npy", _npy("{'descr': 'zz9', 'fortran_order': False, 'shape': (2, 30), }")),
        "npy-header-len": ("a.npy", b"\x93NUMPY\x01\x00\xff\xff" + b" " * 100),
        "npz-not-zip": ("a.npz", b"PK\x03\x04" + bytes(200)),
        "npz-empty-zip": ("a.npz", _zip({})),
        "npz-no-csi": ("a.npz", _zip({"other.npy": good_npy.getvalue()})),
        "npz-bomb": ("a.npz", _zip({"amplitude.npy": _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (500000, 1024), }", bytes(2_048_000_000 // 1000))})),
        "npz-member-huge": ("a.npz", _zip({"csi.npy": _npy("{'descr': '<c16', 'fortran_order': False, 'shape': (10**6, 114, 3, 3), }")})),
        "npz-object": ("a.npz", _zip({"csi.npy": _npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", pickle.dumps([1, 2]))})),
        "npz-amp-phase-mismatch": ("a.npz", _zip({"amplitude.npy": good_npy.getvalue(), "phase.npy": _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }", bytes(36))})),
        "mat-garbage": ("a.mat", b"MATLAB 5.0 MAT-file" + bytes(200)),
        "mat-random": ("a.mat", random.Random(3).randbytes(4096)),
        "mat-v73-hdf5": ("a.mat", b"MATLAB 7.3 MAT-file" + b" " * 97 + b"\x00\x02IM" + b"\x89HDF\r\n\x1a\n" + bytes(500)),
        "mat-huge-dims": ("a.mat", _mat_header() + _mat_matrix("CSIamp", (100000, 100000), b"")),
        "mat-compressed-huge": ("a.mat", _mat_header() + _mat_compressed(_mat_matrix("CSIamp", (50000, 30000), b""))),
        "mat-bad-zlib": ("a.mat", _mat_header() + struct.pack("<II", 15, 100) + bytes(100)),
        "dat-random": ("a.dat", random.Random(4).randbytes(8192)),
        "dat-zeros": ("a.dat", bytes(4096)),
        "dat-huge-len": ("a.dat", b"\xff\xff\xbb" + bytes(300)),
        "csv-garbage": ("a.csv", "CSI_DATA,AP,[1 2 3\n" * 50),
        "csv-huge-len": ("a.csv", "CSI_DATA,AP,3C:71,-73,11,1,0,1,1,1,0,0,0,0,-93,0,1,1,1,0,101,0,0,1.0,999999999,[1 2]\n"),
        "pcap-garbage": ("a.pcap", b"\xd4\xc3\xb2\xa1" + bytes(100)),
        "pcap-huge-caplen": ("a.pcap", b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + bytes(8) + b"\xff\xff\xff\x7f\x01\x00\x00\x00" + bytes(8) + b"\xff\xff\xff\x7f" * 2),
        "csi-garbage": ("a.csi", random.Random(5).randbytes(4096)),
        "empty-file": ("a.npy", b""),
        "no-extension": ("a", bytes(100)),
    }
    cases = [Case(f"csi-{k}", "csi", _file(name, data, argv)) for k, (name, data) in texts.items()]
    seeds = [
        ("intel.dat", SHARED / "intel5300" / "sample_0x1_ap.dat", 5, 9),
        ("mmfi.mat", SHARED / "mmfi" / "frame002.mat", 5, 9),
        ("ath.dat", SHARED / "capture-tools" / "ath_csi_1.dat", 4, 6),
        ("esp32.csv", SHARED / "capture-tools" / "example_csi.csv", 3, 5),
        ("nexmon.pcap", SHARED / "capture-tools" / "example.pcap", 4, 6),
        ("pico.csi", SHARED / "capture-tools" / "rx_by_iwl5300.csi", 4, 6),
    ]
    for i, (name, path, n_cut, n_flip) in enumerate(seeds):
        data = path.read_bytes()[: 256 << 10]  # the head of a long capture is enough to mutate
        cases += _mutations("csi", name, data, argv, n_cut, n_flip, seed=10 + i)
    np_buf = io.BytesIO()
    np.savez_compressed(np_buf, csi=z)
    cases += _mutations("csi", "m.npz", np_buf.getvalue(), argv, 3, 6, seed=20)
    cases += _mutations("csi", "m.npy", good_npy.getvalue(), argv, 2, 4, seed=21)
    return cases


def _mat_header() -> bytes:
    return b"MATLAB 5.0 MAT-file, fault corpus".ljust(116, b" ") + bytes(8) + b"\x00\x01IM"


def _mat_matrix(name: str, dims: tuple[int, int], data: bytes) -> bytes:
    def el(t: int, payload: bytes) -> bytes:
        return struct.pack("<II", t, len(payload)) + payload + bytes(-len(payload) % 8)

    body = el(6, struct.pack("<II", 6, 0)) + el(5, struct.pack("<ii", *dims)) + el(1, name.encode()) + el(9, data)
    return struct.pack("<II", 14, len(body)) + body


def _mat_compressed(element: bytes) -> bytes:
    packed = zlib.compress(element)
    return struct.pack("<II", 15, len(packed)) + packed


# --------------------------------------------------------------------------- weights


def _weights_cases() -> list[Case]:
    csi_input = str(SHARED / "mmfi" / "frame002.mat")
    def argv(p: str) -> list[str]:
        return ["infer", "--config-file", str(DEMO_CONFIG), "--weights", p, "--input", csi_input,
                "--output", str(Path(p).parent / "out"), *TINY_MODEL]

    class Evil:
        def __reduce__(self) -> tuple:
            return (eval, ("open('PWNED', 'w')",))

    def pth(obj: object) -> bytes:
        import torch

        buf = io.BytesIO()
        torch.save(obj, buf)
        return buf.getvalue()

    import torch

    blobs: dict[str, tuple[str, bytes | Callable[[], bytes]]] = {
        "pkl-evil": ("w.pkl", pickle.dumps({"model": Evil()})),
        "pth-evil": ("w.pth", _zip({"archive/data.pkl": pickle.dumps(Evil()), "archive/version": b"3\n"}, compress=False)),
        "pkl-object-array": ("w.pkl", pickle.dumps({"model": {"a.weight": np.array([1, "x"], dtype=object)}})),
        "pkl-str-array": ("w.pkl", pickle.dumps({"model": {"a.weight": np.array(["a", "b"])}})),
        "pkl-list": ("w.pkl", pickle.dumps([1, 2, 3])),
        "pkl-truncated": ("w.pkl", pickle.dumps({"model": {"a": np.zeros(100)}})[:60]),
        "pth-random": ("w.pth", random.Random(6).randbytes(4096)),
        "pth-empty": ("w.pth", b""),
        "pth-not-dict": ("w.pth", lambda: pth([torch.zeros(3)])),
        "pth-model-not-dict": ("w.pth", lambda: pth({"model": 5})),
        "pth-foreign": ("w.pth", lambda: pth({"model": {"x.weight": torch.zeros(3, 3)}})),
        "pth-iteration-str": ("w.pth", lambda: pth({"model": {}, "iteration": "abc"})),
        "pth-zip-bomb": ("w.pth", lambda: _zip({"archive/data/0": bytes(64 << 20), "archive/data.pkl": b"x"})),
        "text-file": ("w.pth", "this is not a checkpoint\n"),
    }
    cases = [Case(f"weights-{k}", "weights", _file(name, data, argv)) for k, (name, data) in blobs.items()]
    seed = pth({"model": {"mtn.fc.weight": torch.ones(64, 8), "mtn.fc.bias": torch.ones(64)}, "iteration": 3})
    cases += _mutations("weights", "m.pth", seed, argv, 2, 2, seed=30)
    return cases


# --------------------------------------------------------------------------- project files


def _project_cases() -> list[Case]:
    from app.ui.shell.project import PROJECT_FILE

    ok = {"format": "wifi-densepose-studio-project/1", "name": "p", "config": "config.yaml", "datasets": [],
          "output_dir": "output"}
    texts: dict[str, str | bytes] = {
        "deep": '{"format": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "5000-digit": '{"format": ' + "1" * 5000 + "}",
        "binary": b"\x89PNG\r\n" + bytes(200),
        "list": "[]",
        "wrong-format": json.dumps({**ok, "format": "other/9"}),
        "datasets-int": json.dumps({**ok, "datasets": 5}),
        "datasets-nested": json.dumps({**ok, "datasets": [[1]]}),
        "config-int": json.dumps({**ok, "config": 7}),
        "name-list": json.dumps({**ok, "name": ["a"]}),
        "output-dir-dict": json.dumps({**ok, "output_dir": {}}),
        "huge": '{"format": "x", "pad": "' + "x" * (2 << 20) + '"}',
        "truncated": json.dumps(ok)[:30],
        "nan": json.dumps(ok).replace('"name": "p"', '"name": NaN'),
    }

    def make(data: str | bytes) -> Callable[[Path], list[str]]:
        def mk(folder: Path) -> list[str]:
            (folder / PROJECT_FILE).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
            return ["project", str(folder)]

        return mk

    return [Case(f"project-{k}", "project", make(v)) for k, v in texts.items()]


#: A small valid COCO-DensePose(+CSI) dataset, the seed of the dataset cases (each case writes the
#: empty files it names: ``validate-dataset --no-decode`` checks that they exist).
VALID_DATASET = {
    "images": [{"id": 1, "file_name": "images/a.png", "height": 48, "width": 64, "csi_file": "csi/a.npz"}],
    "annotations": [{
        "id": 1, "image_id": 1, "category_id": 1, "bbox": [4.0, 4.0, 20.0, 30.0], "area": 600.0, "iscrowd": 0,
        "keypoints": [10.0, 10.0, 2] * 17, "num_keypoints": 17,
        "dp_x": [1.0, 2.0], "dp_y": [3.0, 4.0], "dp_I": [1, 2], "dp_U": [0.5, 0.5], "dp_V": [0.5, 0.5],
    }],
    "categories": [{"id": 1, "name": "person", "keypoints": [f"k{i}" for i in range(17)], "skeleton": []}],
}


def build_corpus() -> list[Case]:
    """Every case, in a fixed order (ids are unique)."""
    cases = _config_cases() + _dataset_cases(VALID_DATASET) + _csi_cases() + _weights_cases() + _project_cases()
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    return cases
