#!/usr/bin/env python3
"""Check that ``models/coco-nanodet-g.onnx`` computes what the original TF.js model computes.

Why: the ONNX file is a conversion (tf2onnx) plus our graph canonicalisation; this runs one real
photo through both the TF.js graph model (pure-JS ``@tensorflow/tfjs`` CPU backend under node) and
the ONNX file (onnxruntime), and fails if any output differs by more than ``--tolerance``.

Run with a plain python >= 3.10: ``python3 models/verify_nanodet_tfjs.py``. Uses the converter venv
of ``import_nanodet.py`` (adds onnxruntime there, never to the project's .venv) and npm.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_nanodet as imp

TFJS_RUNTIME = "@tensorflow/tfjs@4.22.0"
ROOT = Path(__file__).resolve().parent.parent

RUN_JS = r"""
// Run the TF.js graph model on a raw float32 NCHW input; write each output as raw float32.
const fs = require("fs"), path = require("path"), tf = require("@tensorflow/tfjs");
async function main() {
  const [modelJson, inputFile, outDir] = process.argv.slice(2);
  await tf.setBackend("cpu");
  const json = JSON.parse(fs.readFileSync(modelJson));
  const dir = path.dirname(modelJson);
  const all = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
  const model = await tf.loadGraphModel({ load: async () => ({
    modelTopology: json.modelTopology, format: json.format, signature: json.signature,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) }) });
  const raw = fs.readFileSync(inputFile);
  const shape = model.inputs[0].shape;
  const x = tf.tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), shape);
  const names = model.outputs.map((o) => o.name);
  const outs = await model.executeAsync(x, names);
  const index = {};
  for (let i = 0; i < names.length; i++) {
    const file = `out${i}.bin`;
    fs.writeFileSync(path.join(outDir, file), Buffer.from((await outs[i].data()).buffer));
    index[names[i]] = { file, shape: outs[i].shape };
  }
  fs.writeFileSync(path.join(outDir, "index.json"), JSON.stringify(index));
}
main().catch((e) => { console.error(e); process.exit(1); });
"""


def make_input(image: Path, out: Path) -> None:
    """Inside the converter venv: decode with TF, plain resize (no letterbox needed to compare), normalise."""
    import numpy as np
    import tensorflow as tf

    meta = imp.METADATA
    width, height = json.loads(meta["input_size"])
    rgb = tf.io.decode_image(image.read_bytes(), channels=3, expand_animations=False)
    resized = tf.image.resize(tf.cast(rgb, tf.float32), (height, width)).numpy()[:, :, ::-1]  # BGR
    blob = (resized - np.array(json.loads(meta["mean"]))) / np.array(json.loads(meta["std"]))
    blob.transpose(2, 0, 1)[None].astype(np.float32).tofile(out)


def compare(onnx_path: Path, input_bin: Path, out_dir: Path, tolerance: float) -> None:
    """Inside the converter venv: run onnxruntime and compare output by output (matched by name)."""
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    shape = session.get_inputs()[0].shape
    blob = np.fromfile(input_bin, np.float32).reshape(shape)
    results = dict(
        zip(
            [o.name for o in session.get_outputs()],
            session.run(None, {session.get_inputs()[0].name: blob}),
            strict=True,
        )
    )
    index = json.loads((out_dir / "index.json").read_text())
    worst = 0.0
    for name, info in index.items():
        reference = np.fromfile(out_dir / info["file"], np.float32).reshape(info["shape"])
        ours = results[name if name in results else name + ":0"]
        diff = float(np.abs(reference - ours).max())
        worst = max(worst, diff)
        imp.step(f"  {name:12s} {list(reference.shape)}  max |ONNX - TF.js| = {diff:.2e}")
    imp.step(f"worst difference {worst:.2e} (tolerance {tolerance:.0e})")
    if worst > tolerance:
        raise SystemExit(f"{onnx_path}: outputs differ from TF.js by {worst:.2e} > {tolerance:.0e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/mingchu-nanodet-import"))
    parser.add_argument("--onnx", type=Path, default=imp.OUTPUT)
    parser.add_argument("--image", type=Path, default=ROOT / "tests" / "assets" / "dog.jpg")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--make-input", nargs=2, type=Path, help=argparse.SUPPRESS)  # internal steps
    parser.add_argument("--compare", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_input:
        image, out = args.make_input
        make_input(image, out)
        return
    if args.compare:
        onnx_path, input_bin, out_dir = args.compare
        compare(onnx_path, input_bin, out_dir, args.tolerance)
        return

    python = imp.ensure_tf_venv(args.work / "tfvenv")
    if subprocess.run([str(python), "-c", "import onnxruntime"], capture_output=True).returncode != 0:
        imp.step("adding onnxruntime to the converter venv")
        imp.run([str(python), "-m", "pip", "install", "-q", "onnxruntime"])
    tfjs_json = args.work / "tfjs" / "nanodet.json"
    if not tfjs_json.is_file():
        tfjs_json = imp.fetch_tfjs(args.work)
    runtime = args.work / "tfjs-runtime"
    runtime.mkdir(parents=True, exist_ok=True)
    if not (runtime / "node_modules" / "@tensorflow" / "tfjs").is_dir():
        imp.step(f"npm install {TFJS_RUNTIME} (pure JS, CPU backend)")
        (runtime / "package.json").write_text('{"name": "nanodet-verify", "private": true}\n')
        imp.run(["npm", "install", "--no-audit", "--no-fund", "--silent", TFJS_RUNTIME], cwd=runtime)
    (runtime / "run.js").write_text(RUN_JS)
    out_dir = args.work / "tfjs-out"
    out_dir.mkdir(exist_ok=True)
    input_bin = args.work / "input.bin"
    me = str(Path(__file__).resolve())
    imp.step(f"preprocessing {args.image.name}")
    imp.run([str(python), me, "--make-input", str(args.image), str(input_bin)])
    imp.step("running the TF.js model under node (~10-30 s)")
    imp.run(["node", "run.js", str(tfjs_json), str(input_bin), str(out_dir)], cwd=runtime)
    imp.step(f"running {args.onnx.name} with onnxruntime and comparing")
    imp.run(
        [str(python), me, "--tolerance", str(args.tolerance), "--compare", str(args.onnx), str(input_bin), str(out_dir)]
    )
    imp.step("ONNX matches TF.js")


if __name__ == "__main__":
    main()
