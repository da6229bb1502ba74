"""Manifest: sanitised paths, duplicates merged, summary, exact JSON and Parquet round trips."""

from __future__ import annotations

import pandas as pd
import pytest

from vodaxa.errors import ResolveError
from vodaxa.manifest import COLUMNS, Manifest, safe_relative_path, unavailable_row


def _rows():
    return [
        {
            "mission": "eso",
            "obs_id": "A",
            "url": "http://h/cal1",
            "local_path": "eso/cal/cal1.fits",
            "size": 10,
            "category": "BIAS",
            "semantics": "#calibration",
        },
        {
            "mission": "eso",
            "obs_id": "B",
            "url": "http://h/cal1",
            "local_path": "eso/cal/cal1.fits",
            "size": 10,
            "category": "BIAS",
            "semantics": "#calibration",
        },
        {
            "mission": "eso",
            "obs_id": "A",
            "url": "http://h/sci",
            "local_path": "eso/A/sci.fits",
            "size": None,
            "category": "SCIENCE",
            "semantics": "#this",
            "checksum": "sha256:00",
        },
        {
            "mission": "nustar_pointed",
            "obs_id": "C",
            "url": None,
            "local_path": None,
            "category": "unavailable",
            "note": "NotFoundFault: proprietary until 2027-01-01",
        },
    ]


@pytest.mark.parametrize(
    "bad", ["../x", "a/../../x", "/etc/passwd", "C:/win", "a\\b", "", "a/\x00b", "..", "./..", "a/\nb"]
)
def test_paths_that_could_leave_the_destination_are_refused(bad):
    with pytest.raises(ResolveError):
        safe_relative_path(bad)


def test_clean_paths():
    assert safe_relative_path("a//b/./c.fits") == "a/b/c.fits"
    assert safe_relative_path("x..y/z") == "x..y/z"


def test_columns_merge_and_unavailable():
    manifest = Manifest(_rows())
    assert list(manifest.frame.columns) == list(COLUMNS)
    merged = manifest.merge_duplicates()
    assert len(merged) == 3 and len(merged.files) == 2 and len(merged.unavailable) == 1
    shared = merged.select(url="http://h/cal1").frame.iloc[0]
    assert shared["obs_id"] == "A,B"
    assert "proprietary" in merged.unavailable["note"][0]
    assert merged.urls == ["http://h/cal1", "http://h/sci"]
    assert merged.total_bytes() == 10


def test_summary_and_selection():
    manifest = Manifest(_rows()).merge_duplicates()
    summary = manifest.summary()
    bias = summary[(summary["mission"] == "eso") & (summary["category"] == "BIAS")].iloc[0]
    assert bias["files"] == 1 and bias["sized"] == 1 and bias["bytes"] == 10
    unsized = Manifest([{"mission": "m", "category": "c", "url": "http://h/x", "local_path": "x"}]).summary()
    assert unsized.iloc[0][["files", "sized", "bytes"]].tolist() == [1, 0, 0]  # unknown is not zero bytes
    assert len(manifest.select(category=["BIAS", "SCIENCE"])) == 2
    assert len(manifest.exclude(category="BIAS").files) == 1
    with pytest.raises(KeyError, match="no manifest column"):
        manifest.select(colour="red")


def test_exclude_keeps_the_unavailable_rows_it_does_not_match():
    rows = [
        {"mission": "a", "obs_id": "1", "url": None, "note": "proprietary"},
        {"mission": "b", "obs_id": "2", "url": None, "note": "not found"},
        {"mission": "a", "obs_id": "1", "url": "http://h/cal", "local_path": "cal"},
        {"mission": "b", "obs_id": "2", "url": "http://h/cal", "local_path": "cal"},
        {"mission": "b", "obs_id": "2", "url": "http://h/sci", "local_path": "sci"},
    ]
    left = Manifest(rows).exclude(mission="a")
    assert left.frame["obs_id"].tolist() == ["2", "2"]  # b's reason kept; the shared file goes with a's row
    assert left.urls == ["http://h/sci"] and left.unavailable["note"].tolist() == ["not found"]


def test_clashing_paths_are_renamed_not_lost():
    rows = [
        {"url": "http://h/a", "local_path": "x/f.fits.gz"},
        {"url": "http://h/b", "local_path": "x/f.fits.gz"},
        {"url": "http://h/c", "local_path": "x/f.fits.gz"},
        {"url": "http://h/a", "local_path": "x/f.fits.gz"},  # the same file twice: merged, not renamed
    ]
    merged = Manifest(rows).merge_duplicates().frame
    assert len(merged) == 3 and merged["local_path"].is_unique
    assert merged["local_path"].iloc[0] == "x/f.fits.gz"
    assert all(p.startswith("x/f~") and p.endswith(".fits.gz") for p in merged["local_path"].iloc[1:])
    assert all("renamed from x/f.fits.gz" in n for n in merged["note"].iloc[1:])


def test_rows_need_a_url_or_a_reason():
    with pytest.raises(ResolveError, match="neither a URL nor a note"):
        Manifest([{"mission": "x", "obs_id": "1"}])


def test_json_and_parquet_round_trip_exactly(tmp_path):
    manifest = Manifest(_rows()).merge_duplicates()
    again = Manifest.from_json(manifest.to_json(tmp_path / "m.json"))
    assert again == manifest
    assert Manifest.from_json(tmp_path / "m.json") == manifest
    parquet = Manifest.from_parquet(manifest.to_parquet(tmp_path / "m.parquet"))
    assert parquet == manifest
    assert str(parquet.frame["size"].dtype) == "Int64" and pd.isna(parquet.frame["size"][1])
    with pytest.raises(ResolveError, match="not a vodaxa manifest"):
        Manifest.from_json('{"rows": []}')


def test_clash_names_do_not_depend_on_row_order():
    rows = [{"url": f"http://h/v{i}/data.dat", "local_path": "o/data.dat"} for i in (1, 2, 3)]
    one = Manifest(rows).merge_duplicates().frame.set_index("url")["local_path"]
    two = Manifest(list(reversed(rows))).merge_duplicates().frame.set_index("url")["local_path"]
    assert one.sort_index().equals(two.sort_index()) and one["http://h/v1/data.dat"] == "o/data.dat"


def test_case_and_folder_clashes_are_renamed():
    rows = [
        {"url": "http://h/a", "local_path": "o/F.fits"},
        {"url": "http://h/b", "local_path": "o/f.fits"},
        {"url": "http://h/c", "local_path": "o/x"},
        {"url": "http://h/d", "local_path": "o/x/y"},
    ]
    paths = list(Manifest(rows).merge_duplicates().frame["local_path"])
    assert len({p.casefold() for p in paths}) == 4
    assert "o/x/y" in paths and "o/x" not in paths  # the file named like a folder moves aside


def test_unavailable_rows_are_kept_per_source():
    rows = [
        {"obs_id": "42", "source_id": "ivo://a/t1?42", "note": "NotFoundFault: x"},
        {"obs_id": "42", "source_id": "ivo://a/t2?42", "note": "NotFoundFault: x"},
        {"obs_id": "42", "source_id": "ivo://a/t2?42", "note": "NotFoundFault: x"},
    ]
    assert len(Manifest(rows).merge_duplicates().frame) == 2


def _merged_by_grouping(manifest: Manifest) -> Manifest:
    """merge_duplicates as it was written first: every URL grouped by pandas (the reference for the faster one)."""
    from vodaxa.manifest import _disambiguated

    frame = manifest.frame
    missing = frame[frame["url"].isna()].drop_duplicates(subset=["mission", "obs_id", "source_id", "note"])
    groups = frame[frame["url"].notna()].groupby("url", sort=False)
    first = groups.first()
    first["obs_id"] = groups["obs_id"].agg(lambda s: ",".join(dict.fromkeys(str(v) for v in s.dropna())) or None)
    first["mission"] = groups["mission"].agg(lambda s: ",".join(dict.fromkeys(str(v) for v in s.dropna())) or None)
    out = pd.concat([first.reset_index(), missing], ignore_index=True)[list(frame.columns)]
    paths, notes = list(out["local_path"]), list(out["note"])
    for n, renamed in _disambiguated(paths, list(out["url"])).items():
        why = f"renamed from {paths[n]}, the name of another file"
        notes[n] = f"{notes[n]}; {why}" if isinstance(notes[n], str) else why
        paths[n] = renamed
    return Manifest(out.assign(local_path=paths, note=notes))


@pytest.mark.parametrize("seed", range(8))
def test_merging_only_the_shared_urls_gives_what_grouping_every_url_gives(seed):
    import random

    rng = random.Random(seed)
    rows = []
    for n in range(60):
        shared = rng.random() < 0.4
        url = f"http://h/{'cal' if shared else 'f'}{rng.randrange(6) if shared else n}"
        if rng.random() < 0.1:
            rows.append(unavailable_row(rng.choice(["A", "B", 7]), "not public", mission=rng.choice(["x", None])))
            continue
        rows.append({
            "mission": rng.choice(["eso", "xmm", None, ""]), "obs_id": rng.choice(["A", "B", "C", 12, None, ""]),
            "url": url, "local_path": rng.choice([f"m/{url[9:]}.fits", "m/same.fits", f"m/{n}/x"]),
            "size": rng.choice([None, 10, 2880]), "category": rng.choice([None, "BIAS", "SCIENCE"]),
            "checksum": rng.choice([None, "sha256:00"]), "note": rng.choice([None, "a note"]),
            "semantics": rng.choice([None, "#this", "#calibration"]), "source_id": rng.choice([None, "s1", "s2"]),
        })  # fmt: skip
    manifest = Manifest(rows)
    assert manifest.merge_duplicates() == _merged_by_grouping(manifest)


@pytest.mark.parametrize("seed", range(6))
def test_a_manifest_from_dicts_is_the_manifest_from_their_dataframe(seed):
    import random

    rng = random.Random(seed)
    values = [None, "", "a", "b/c", 3, 2.5, float("nan"), True]
    rows = []
    for n in range(40):
        row = {"url": f"http://h/{n}", "local_path": f"o/{n}.fits"}
        for column in rng.sample(["mission", "obs_id", "category", "note", "eso_extra", "size", "semantics"], 4):
            row[column] = rng.choice([10, None, 2880, 7.0, "12"]) if column == "size" else rng.choice(values)
        rows.append(row)
    rows.append(unavailable_row("X", "gone", mission="m"))
    assert Manifest(rows) == Manifest(pd.DataFrame(rows))
    assert list(Manifest(rows).frame.columns) == list(Manifest(pd.DataFrame(rows)).frame.columns)


@pytest.mark.parametrize("size", [-1, 2.5, True, "12abc", float("inf"), 2**63])
def test_a_size_that_is_no_byte_count_is_named_whichever_way_the_rows_come(size):
    rows = [{"url": "http://h/a", "local_path": "a", "size": 1}, {"url": "http://h/b", "local_path": "b", "size": size}]
    for given in (rows, pd.DataFrame(rows)):
        with pytest.raises(ResolveError, match="manifest row 1: size"):
            Manifest(given)


@pytest.mark.parametrize("seed", range(6))
def test_a_merge_without_shared_urls_is_the_checked_manifest_of_its_rows(seed):
    import random

    rng = random.Random(seed)
    rows = []
    for n in range(50):
        if rng.random() < 0.1:
            rows.append(unavailable_row(rng.choice(["A", "B", 7]), "not public", mission=rng.choice(["x", None])))
            continue
        rows.append({
            "mission": rng.choice(["eso", "xmm", None, ""]), "obs_id": rng.choice(["A", "B", 12, None, ""]),
            "url": f"http://h/f{n}", "local_path": rng.choice([f"m/f{n}.fits", "m/same.fits", "M/Same.fits", "m"]),
            "size": rng.choice([None, 10, 2880]), "note": rng.choice([None, "a note"]),
            "eso_extra": rng.choice([1, None]),
        })  # fmt: skip
    merged = Manifest(rows).merge_duplicates()  # no URL is shared: the rows are not checked a second time
    assert merged == Manifest(merged.frame) == _merged_by_grouping(Manifest(rows))
    assert [str(t) for t in merged.frame.dtypes] == [str(t) for t in Manifest(merged.frame).frame.dtypes]


def test_a_merged_manifest_of_text_ids_round_trips_and_keeps_object_columns():
    rows = [{"mission": "m", "obs_id": str(n), "url": f"http://h/{n}.fits", "local_path": f"m/{n}.fits"}
            for n in (1, 2)]  # fmt: skip
    rows.append(unavailable_row("3", "gone", mission="m"))
    merged = Manifest(rows).merge_duplicates()
    assert merged.frame["obs_id"].dtype == object and merged.frame["mission"].dtype == object
    assert Manifest.from_json(merged.to_json()) == merged == Manifest(merged.frame)
    merged.frame.loc[0, "obs_id"] = 40765085200  # an object column takes what a user puts there


def _plain_rows(rng, n_rows: int, shared_urls: bool = False) -> list[dict]:
    """Rows as resolvers make them: text or None in every column, whole byte counts (or None) as sizes."""
    rows = []
    for n in range(n_rows):
        if rng.random() < 0.15:
            rows.append(unavailable_row(rng.choice(["A", "B", "7"]), rng.choice(["not public", "gone ?token=s3cr3t"]),
                                        mission=rng.choice(["x", None]), source_id=rng.choice(["s1", None])))
            continue
        url = f"http://h/{'cal' if shared_urls and rng.random() < 0.3 else 'f'}{rng.randrange(4) if shared_urls else n}"
        row = {"obs_id": rng.choice(["A", "B", "", None]), "url": url,
               "local_path": rng.choice([f"m/f{n}.fits", "m/same.fits", "M/Same.fits", "m", "m//./f.fits"]),
               "size": rng.choice([None, 0, 10, 2880, 2**40])}  # fmt: skip
        for column in rng.sample(["mission", "category", "note", "eso_extra", "semantics", "source_id"], 3):
            row[column] = rng.choice([None, "", "a", "b/c", "token=abc"])
        rows.append(row)
    return rows


@pytest.mark.parametrize("seed", range(8))
def test_plain_rows_make_the_frame_the_general_path_makes(seed):
    import random

    from vodaxa.manifest import _checked_frame, _frame_of, _plain_frame

    rows = _plain_rows(random.Random(seed), 60)
    assert _plain_frame(rows) is not None  # the one-pass path is the one taken
    pd.testing.assert_frame_equal(Manifest(rows).frame, _checked_frame(_frame_of(rows)), check_exact=True)
    assert Manifest(rows) == Manifest(pd.DataFrame(rows))
    assert "s3cr3t" not in Manifest(rows).frame.to_string()


@pytest.mark.parametrize(
    ("row", "error"),
    [({"url": "http://h/a", "local_path": "../up"}, "leave the destination"),
     ({"url": "http://h/a", "local_path": None}, "empty local path"),
     ({"url": None, "local_path": None}, "1 manifest rows have neither a URL nor a note")],
)  # fmt: skip
def test_plain_rows_are_refused_as_the_general_path_refuses_them(row, error):
    from vodaxa.manifest import _checked_frame, _frame_of

    rows = [{"url": "http://h/ok", "local_path": "ok.fits", "size": 1}, row]
    for build in (Manifest, lambda r: _checked_frame(_frame_of(r))):
        with pytest.raises(ResolveError, match=error):
            build(rows)


@pytest.mark.parametrize("seed", range(8))
def test_a_plain_merge_is_the_merge_of_grouping_every_url(seed):
    import random

    rng = random.Random(seed)
    rows = _plain_rows(rng, 60) + [unavailable_row("7", "gone", mission="x")] * 2
    for row in rows:  # a redacted note is redacted again by the reference, which eats the "; " a rename adds
        row["note"] = row.get("note") and row["note"].replace("token=", "t ")
    manifest = Manifest(rows)
    assert manifest._merged_plain() is not None  # no URL listed twice: the list path is the one taken
    merged, reference = manifest.merge_duplicates(), _merged_by_grouping(manifest)
    pd.testing.assert_frame_equal(merged.frame, reference.frame, check_exact=True)
    assert merged == Manifest(merged.frame)
    assert len(merged.unavailable) < len(manifest.unavailable)  # a reason said once
    shared = Manifest(_plain_rows(rng, 60, shared_urls=True))
    assert shared._merged_plain() is None  # shared URLs are grouped by the general path
    assert shared.merge_duplicates() == _merged_by_grouping(shared)


def test_text_columns_hold_objects_and_byte_counts_past_2_53_stay_exact():
    rows = [{"url": "http://h/a", "local_path": "a", "size": 2**53 + 1, "note": "n"},
            {"url": "http://h/b", "local_path": "b", "size": None}, unavailable_row("X", "gone")]  # fmt: skip
    made = Manifest(rows)
    for manifest in (made, Manifest(pd.DataFrame(rows)), Manifest.from_json(made.to_json()), made.merge_duplicates()):
        assert all(manifest.frame[c].dtype == object for c in manifest.frame.columns if c != "size")
        assert manifest.frame["local_path"].tolist()[2] is None and manifest.frame["note"].tolist()[1] is None
    assert Manifest.from_json(made.to_json()) == made
    assert made.frame["size"].tolist()[0] == Manifest.from_json(made.to_json()).frame["size"].tolist()[0] == 2**53 + 1


def test_the_repr_counts_files_and_unavailable_rows_apart():
    rows = [{"url": "http://h/a", "local_path": "a", "size": 3}, unavailable_row("X", "gone", mission="m")]
    manifest = Manifest(rows)
    assert repr(manifest) == "<Manifest: 1 file, 1 unavailable, 3 bytes, missions m>"
    assert repr(Manifest()) == "<Manifest: 0 files, sizes unknown>"
