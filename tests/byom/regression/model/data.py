"""The source tables, the label table, and a deterministic sample of them.

The sample resamples scikit-learn's bundled diabetes study (442 patients, no download) with a
little measurement noise, so any number of visits can be drawn. In prod the real tables with the
same names and columns are read instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes

from ..contract import SourceTable

KEY = "visit_id"
LABEL = "progression"

VITALS = ("age", "sex", "bmi", "blood_pressure")
TESTS = ("total_cholesterol", "ldl", "hdl", "tch_hdl_ratio", "log_triglycerides", "glucose")

VISITS = SourceTable("visits", (KEY, *VITALS))
# One row per blood draw: most visits have one, some several, a few none.
BLOOD_TESTS = SourceTable("blood_tests", (KEY, "draw", *TESTS))
# Disease progression one year after the visit (the study's quantitative measure).
PROGRESSION = SourceTable("disease_progression", (KEY, LABEL))

# Relative noise of a vital sign, and of one blood draw.
JITTER = 0.02
DRAW_NOISE = 0.03
# Share of visits without any blood draw.
MISSING_DRAWS = 0.01


def generate(seed: int, rows: int) -> dict[str, pd.DataFrame]:
    """``rows`` visits drawn with replacement from the bundled study, with new ids."""
    # Unscaled: age in years, sex 1 or 2, bmi, blood pressure, then the six blood serum values.
    study = load_diabetes(scaled=False)
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(study.target), size=rows)
    patients = study.data[drawn]
    ids = np.arange(1, rows + 1, dtype="int64")

    def noisy(values: np.ndarray, scale: float) -> np.ndarray:
        return values * (1 + rng.normal(0, scale, size=values.shape))

    visits = pd.DataFrame(
        {
            KEY: ids,
            "age": patients[:, 0].astype("int64"),
            "sex": patients[:, 1].astype("int64"),
            "bmi": noisy(patients[:, 2], JITTER).round(1),
            "blood_pressure": noisy(patients[:, 3], JITTER).round(1),
        }
    )
    draws = 1 + rng.poisson(0.5, size=rows)
    draws[rng.random(rows) < MISSING_DRAWS] = 0
    visit = np.repeat(np.arange(rows), draws)
    blood = pd.DataFrame(noisy(patients[visit, 4:], DRAW_NOISE).round(4), columns=list(TESTS))
    blood.insert(0, KEY, ids[visit])
    # 1, 2, ... within each visit.
    blood.insert(1, "draw", blood.groupby(KEY).cumcount().astype("int64") + 1)
    progression = pd.DataFrame({KEY: ids, LABEL: study.target[drawn].astype("float64")})
    return {VISITS.name: visits, BLOOD_TESTS.name: blood, PROGRESSION.name: progression}
