"""postergenre export-onnx [--precision fp32|int8|all] [--calibration DATA]"""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-onnx", help="export the backbone's ONNX graphs (fp32, int8) into the cache",
                       description="Export the backbone to ONNX (needs torch: the full install) and quantize it to "
                                   "int8 (static, with the calibration that ships with the package, or one measured on "
                                   "--calibration posters). Serving installs without torch then load these files. int8 comes in two "
                                   "graphs: 8-bit weights for CPUs with an int8 dot product (VNNI/AMX) and 7-bit weights "
                                   "(int8r7) for the others, whose int8 kernels saturate; both are written (with --calibration: "
                                   "this CPU's kind only).")
    p.add_argument("--precision", choices=("fp32", "int8", "all"), default="all", help="which graphs (default all)")
    p.add_argument("--calibration", default=None, metavar="DATA",
                   help="dataset folder whose train posters calibrate int8 (default: the shipped calibration)")
    p.add_argument("--method", choices=("minmax", "entropy", "percentile"), default=None,
                   help="calibration method with --calibration (default: the shipped one's)")
    p.add_argument("--weights", default=None, help="weights folder (default: the bundled weights)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from postergenre.model.weights import WeightsMetadata, read_weights
    from postergenre.model.quantize import CALIBRATION_METHOD, calibration_paths, quantize_backbone
    from postergenre.model.runtime import cpu_has_int8_dot, ensure_graph, find_graph, int8_path

    _, meta = read_weights(args.weights)
    cfg = WeightsMetadata.from_dict(meta).preprocessing
    fp32 = ensure_graph(cfg, precision="fp32")
    print(f"fp32: {fp32}")
    if args.precision in ("int8", "all"):
        if args.calibration:
            out = int8_path(fp32)
            cache = out.with_suffix(".calibration.json")
            cache.unlink(missing_ok=True)  # measure afresh
            quantize_backbone(fp32, out, cfg, calibration_paths(args.calibration),
                              method=args.method or CALIBRATION_METHOD, cache=cache,
                              reduce_range=not cpu_has_int8_dot())
            print(f"int8: {out} (calibrated on {args.calibration}; ranges in {cache})")
        else:
            print(f"int8: {find_graph(cfg, precision='int8') or ensure_graph(cfg, precision='int8')}")
            # and the other kind of CPU's graph, so a copied cache (the Docker image) serves on both kinds
            other = int8_path(fp32, reduce_range=cpu_has_int8_dot())
            if not other.is_file():
                quantize_backbone(fp32, other, cfg, reduce_range=cpu_has_int8_dot())
            print(f"int8 for {'CPUs without' if cpu_has_int8_dot() else 'CPUs with'} an int8 dot product: {other}")
    if meta.get("text"):  # the OCR graphs the text channel reads with (its int8 graphs for both kinds of CPU)
        from postergenre.model.ocr import OCRConfig, export_graphs

        for path in export_graphs(OCRConfig.from_dict(meta["text"].get("ocr"))):
            print(f"OCR: {path}")
    return 0
