"""The source tables, the label table, and a deterministic synthetic sample of them.

In dev and staging the sample job writes ``generate(...)`` as the source tables; in prod the
real tables with the same names and columns are read instead.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from ..contract import SourceTable

USER_KEY = "user_id"
ITEM_KEY = "item_id"
LABEL = "target"

USERS = SourceTable("users", (USER_KEY, "age", "signup_date", "monthly_fee", "support_tickets"))
ITEMS = SourceTable("items", (ITEM_KEY, "price"))
EVENTS = SourceTable("events", (USER_KEY, ITEM_KEY, "event_date", "minutes", "rating"))
LABELS = SourceTable("{{ cookiecutter.model_name }}_labels", (USER_KEY, ITEM_KEY, LABEL))

# The last day of activity in the sample; fixed so the same seed gives the same data.
LAST_DAY = date(2025, 6, 30)


def generate(seed: int, rows: int, problem_type: str) -> dict[str, pd.DataFrame]:
    """Users, items, usage events and ``rows`` labelled (user, item) subscriptions."""
    rng = np.random.default_rng(seed)
    n_users = max(rows // 4, 50)
    n_items = max(rows // 100, 20)
    last_day = np.datetime64(LAST_DAY, "D")

    # Hidden traits that drive both observable behaviour and the label.
    engagement = rng.normal(size=n_users)
    quality = rng.normal(size=n_items)

    tenure = rng.integers(30, 1500, size=n_users)
    tickets = rng.poisson(np.exp(0.2 - 0.6 * engagement))
    age = np.clip(rng.normal(40, 12, size=n_users), 18, 80).round()
    age[rng.random(n_users) < 0.01] = np.nan  # a little missing data, as in real sources
    users = pd.DataFrame(
        {
            USER_KEY: np.arange(1, n_users + 1, dtype="int64"),
            "age": pd.array(age, dtype="Int64"),
            "signup_date": _dates(last_day - tenure.astype("timedelta64[D]")),
            "monthly_fee": rng.choice([9.99, 14.99, 19.99], size=n_users),
            "support_tickets": tickets.astype("int64"),
        }
    )
    price = np.exp(rng.normal(3.0, 0.4, size=n_items)).round(2)
    items = pd.DataFrame({ITEM_KEY: np.arange(1, n_items + 1, dtype="int64"), "price": price})

    per_user = rng.poisson(np.exp(1.6 + 0.5 * engagement))
    event_user = np.repeat(np.arange(n_users), per_user)
    popularity = np.exp(0.5 * quality) / np.exp(0.5 * quality).sum()
    event_item = rng.choice(n_items, size=event_user.size, p=popularity)
    days_ago = np.minimum(
        rng.exponential(20 * np.exp(-0.7 * engagement[event_user])).astype("int64"),
        tenure[event_user],
    )
    events = pd.DataFrame(
        {
            USER_KEY: event_user + 1,
            ITEM_KEY: event_item + 1,
            "event_date": _dates(last_day - days_ago.astype("timedelta64[D]")),
            "minutes": rng.gamma(2.0, 10 * np.exp(0.3 * engagement[event_user])).round(1),
            "rating": np.clip(
                np.rint(3 + 0.8 * quality[event_item] + rng.normal(0, 0.7, event_user.size)), 1, 5
            ).astype("int64"),
        }
    )

    pairs = rng.choice(n_users * n_items, size=min(rows, n_users * n_items), replace=False)
    u, i = pairs // n_items, pairs % n_items
    fee_z = (users["monthly_fee"].to_numpy()[u] - 15) / 4
    price_z = (np.log(price[i]) - 3.0) / 0.4
    tenure_z = (tenure[u] - 765) / 425
    drive = (
        -1.3 * engagement[u]
        + 0.5 * tickets[u]
        - 0.8 * quality[i]
        + 0.4 * fee_z
        + 0.4 * price_z
        - 0.4 * tenure_z
    )
    if problem_type == "classification":
        target = (rng.random(u.size) < 1 / (1 + np.exp(-(drive - 0.7)))).astype("int64")
    else:  # expected months until the customer leaves
        target = (24 - 5 * drive + rng.normal(0, 2.5, u.size)).round(2)
    labels = pd.DataFrame({USER_KEY: u + 1, ITEM_KEY: i + 1, LABEL: target})
    return {USERS.name: users, ITEMS.name: items, EVENTS.name: events, LABELS.name: labels}


def _dates(days: np.ndarray) -> np.ndarray:
    """Python dates, so Spark types the column as DATE rather than TIMESTAMP."""
    return pd.to_datetime(days).date
