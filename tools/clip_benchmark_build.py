"""Runs clip_benchmark's own `build` command (the aggregation of result files into a CSV) without
PyTorch, so that tests can check that `mode eval` and `mode ensemble` write files it reads.

clip_benchmark (PyPI `clip-benchmark`, installed without dependencies by
scripts/fetch_clip_benchmark.sh) keeps `build` in clip_benchmark/cli.py, whose module imports
the evaluation machinery (torch, open_clip, datasets, metrics) at the top although `build` uses
none of it. This script puts inert stand-ins for exactly those imports into `sys.modules`, imports
the installed, unmodified cli.py and calls its `main()` with the arguments given, so the argument
parsing and `main_build` that run are clip_benchmark's. A stand-in raises if anything calls it.

    python3 tools/clip_benchmark_build.py [--package-dir DIR] [--check-text] build FILE_OR_DIR... --output OUT.csv

--package-dir: where clip_benchmark is installed (default: MODE_CLIP_BENCHMARK_DIR, else
.deps/clip-benchmark in the repository). --check-text: also fail unless every result file's
text is what Python's json.dump writes for its content (clip_benchmark writes its files so).
"""
import importlib
import json
import os
import sys
import types

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The modules clip_benchmark/cli.py (1.6.2) imports for evaluation only, and the names it takes from them.
EVAL_ONLY_IMPORTS = {
    "torch": [],
    "clip_benchmark.datasets.builder": ["build_dataset", "dataset_collection", "get_dataset_collate_fn",
                                        "get_dataset_collection_from_file", "get_dataset_default_task"],
    "clip_benchmark.metrics.captioning": [],
    "clip_benchmark.metrics.image_caption_selection": [],
    "clip_benchmark.metrics.linear_probe": [],
    "clip_benchmark.metrics.zeroshot_classification": [],
    "clip_benchmark.metrics.zeroshot_retrieval": [],
    "clip_benchmark.model_collection": ["get_model_collection_from_file", "model_collection"],
    "clip_benchmark.models": ["MODEL_TYPES", "load_clip"],
}


def unavailable(name):
    def call(*args, **kwargs):
        raise RuntimeError(f"{name} is not available here: only clip_benchmark's build command can run")
    return call


def install_stand_ins():
    for module, names in EVAL_ONLY_IMPORTS.items():
        stub = types.ModuleType(module)
        for name in names:
            setattr(stub, name, unavailable(f"{module}.{name}"))
        sys.modules[module] = stub
    sys.modules["clip_benchmark.datasets.builder"].dataset_collection = {}
    sys.modules["clip_benchmark.model_collection"].model_collection = {}
    sys.modules["clip_benchmark.models"].MODEL_TYPES = ["open_clip"]  # choices of eval's --model_type


def result_files(paths):
    """The files `build` reads: each file given, and the .json files directly inside each folder."""
    for p in paths:
        if os.path.isdir(p):
            for f in sorted(os.listdir(p)):
                if f.endswith(".json"):
                    yield os.path.join(p, f)
        else:
            yield p


def main():
    args = sys.argv[1:]
    package_dir = os.environ.get("MODE_CLIP_BENCHMARK_DIR") or os.path.join(REPO_ROOT, ".deps", "clip-benchmark")
    check_text = False
    while args and args[0].startswith("--"):
        if args[0] == "--package-dir":
            package_dir = args[1]
            args = args[2:]
        elif args[0] == "--check-text":
            check_text = True
            args = args[1:]
        else:
            break
    if not os.path.isfile(os.path.join(package_dir, "clip_benchmark", "cli.py")):
        sys.exit(f"clip_benchmark not found in {package_dir}: run scripts/fetch_clip_benchmark.sh first")
    sys.path.insert(0, package_dir)
    install_stand_ins()
    cli = importlib.import_module("clip_benchmark.cli")
    if not cli.__file__.startswith(os.path.abspath(package_dir)):
        sys.exit(f"imported clip_benchmark from {cli.__file__}, not from {package_dir}")
    if check_text and args and args[0] == "build":
        files = [a for a in args[1:] if not a.startswith("--")]
        if "--output" in args:
            files.remove(args[args.index("--output") + 1])
        for path in result_files(files):
            with open(path) as f:
                text = f.read()
            expected = json.dumps(json.loads(text))
            if text != expected:
                sys.exit(f"{path}: not json.dump's text\n  file:     {text}\n  json.dump: {expected}")
    sys.argv = ["clip_benchmark"] + args
    cli.main()


if __name__ == "__main__":
    main()
