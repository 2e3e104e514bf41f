import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
# the real data sits beside the checkout; SPANBERT_DATA points elsewhere
SHARED = os.environ.get("SPANBERT_DATA", os.path.join(REPO, "..", "shared", "data"))
KOWIKI = os.path.join(SHARED, "kowiki", "kowiki.txt")
NSMC_TRAIN = os.path.join(SHARED, "nsmc", "ratings_train.txt")
NSMC_TEST = os.path.join(SHARED, "nsmc", "ratings_test.txt")
KORQUAD = os.path.join(SHARED, "korquad", "KorQuAD_v1.0_dev.json")

needs_data = pytest.mark.skipif(not os.path.isfile(NSMC_TRAIN) or not os.path.isfile(KOWIKI),
                                reason=f"real data not found under {SHARED}")
needs_korquad = pytest.mark.skipif(not os.path.isfile(KORQUAD) or not os.path.isfile(KOWIKI),
                                   reason=f"KorQuAD 1.0 dev file not found under {SHARED}")


def run_script(*args, ok=True, stdin=None, env=None):
    """Run a repo script as a user would; by default it must succeed."""
    import subprocess
    r = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, input=stdin,
                       env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})
    if ok:
        assert r.returncode == 0, f"{args[0]} failed:\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    """A vocab and span-masked data made once from the first 4,000 lines of the real corpus."""
    d = tmp_path_factory.mktemp("artifacts")
    with open(KOWIKI, encoding="utf-8") as f, open(d / "kowiki.txt", "w", encoding="utf-8") as out:
        for _, line in zip(range(4000), f):
            out.write(line)
    p = {"corpus": str(d / "kowiki.txt"), "prefix": str(d / "kowiki"), "vocab": str(d / "kowiki.model"),
         "span": str(d / "span.json")}
    run_script("vocab.py", "--input", p["corpus"], "--prefix", p["prefix"], "--vocab_size", "3000",
               "--max_sentences", "20000")
    run_script("data.py", "--input", p["corpus"], "--vocab", p["vocab"], "--output", p["span"], "--n_seq", "64",
               "--dupe", "2")
    return p


def one_line_error(r, *needles):
    """A user error: exit status 2, exactly one "error:" line (the last on stderr) naming the
    problem, and no traceback. Progress bars may come before it."""
    lines = [line for line in r.stderr.replace("\r", "\n").splitlines() if line.strip()]
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    assert sum(line.startswith("error:") for line in lines) == 1 and lines[-1].startswith("error:"), r.stderr
    for needle in needles:
        assert needle in lines[-1], (needle, lines[-1])
