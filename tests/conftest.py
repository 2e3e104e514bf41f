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

needs_data = pytest.mark.skipif(not os.path.isfile(NSMC_TRAIN) or not os.path.isfile(KOWIKI),
                                reason=f"real data not found under {SHARED}")
