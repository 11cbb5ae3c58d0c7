"""The source tables, the label table, and a deterministic sample of them.

The sample resamples scikit-learn's bundled Wisconsin breast-cancer biopsies (569 patients, no
download) with a little measurement noise, so any number of rows can be drawn. In prod the real
tables with the same names and columns are read instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

from ..contract import SourceTable

KEY = "patient_id"
LABEL = "malignant"

# The ten nucleus measurements of a biopsy image; each is summarised three ways.
MEASUREMENTS = (
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave_points",
    "symmetry",
    "fractal_dimension",
)
MEANS = tuple(f"{m}_mean" for m in MEASUREMENTS)
ERRORS = tuple(f"{m}_se" for m in MEASUREMENTS)
WORST = tuple(f"{m}_worst" for m in MEASUREMENTS)

# The image lab's summary of every scan, and the worst-case readout, which a few scans lack.
SUMMARY = SourceTable("nuclei_summary", (KEY, *MEANS, *ERRORS))
EXTREMES = SourceTable("nuclei_extremes", (KEY, *WORST))
DIAGNOSES = SourceTable("diagnoses", (KEY, LABEL))

# Relative measurement noise added to every resampled value.
JITTER = 0.02
# Share of patients whose worst-case readout is missing.
MISSING_EXTREMES = 0.01


def generate(seed: int, rows: int) -> dict[str, pd.DataFrame]:
    """``rows`` patients drawn with replacement from the bundled biopsies, with new ids."""
    dataset = load_breast_cancer()
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(dataset.target), size=rows)
    values = dataset.data[drawn] * (1 + rng.normal(0, JITTER, size=(rows, dataset.data.shape[1])))
    # load_breast_cancer orders its 30 columns as 10 means, 10 standard errors, 10 worst values.
    columns = (*MEANS, *ERRORS, *WORST)
    measured = pd.DataFrame(values.round(6), columns=list(columns))
    ids = pd.Series(np.arange(1, rows + 1, dtype="int64"), name=KEY)
    summary = pd.concat([ids, measured[list(MEANS + ERRORS)]], axis=1)
    has_extremes = rng.random(rows) >= MISSING_EXTREMES
    extremes = pd.concat([ids, measured[list(WORST)]], axis=1)[has_extremes]
    # sklearn's target is 0 for malignant, 1 for benign.
    diagnoses = pd.DataFrame({KEY: ids, LABEL: (1 - dataset.target[drawn]).astype("int64")})
    return {
        SUMMARY.name: summary,
        EXTREMES.name: extremes.reset_index(drop=True),
        DIAGNOSES.name: diagnoses,
    }
