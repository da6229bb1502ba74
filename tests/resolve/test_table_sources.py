"""Issue 17 item 3: an observation table is accepted as an astropy Table or a pyvo result wherever vodaxa takes one
as a DataFrame (``vodaxa.resolve``, the sky plot): the same observations, the same files."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from astropy.io.votable import parse

import vodaxa
from vodaxa.errors import ResolveError
from vodaxa.tables import to_table


@pytest.fixture
def observations(vodaxa_sandbox) -> pd.DataFrame:
    found = vodaxa.search("3C 105", missions=["nustar_pointed", "chandra"])
    assert set(found["mission"]) == {"nustar_pointed", "chandra"}
    return found.groupby("mission").head(2).reset_index(drop=True)


def _urls(manifest: vodaxa.Manifest) -> list[str]:
    return sorted(manifest.files["url"])


def _as_pyvo_result(frame: pd.DataFrame):
    import pyvo

    buffer = io.BytesIO()
    to_table(frame, votable=True).write(buffer, format="votable")
    return pyvo.dal.DALResults(parse(io.BytesIO(buffer.getvalue())))


def test_an_astropy_table_of_observations_resolves_like_the_frame(observations):
    expected = vodaxa.resolve(observations)
    assert len(expected.files) > 0
    manifest = vodaxa.resolve(to_table(observations))
    assert _urls(manifest) == _urls(expected)
    assert sorted(manifest.files["obs_id"].unique()) == sorted(expected.files["obs_id"].unique())


def test_a_pyvo_result_of_observations_resolves_like_the_frame(observations):
    expected = vodaxa.resolve(observations)
    manifest = vodaxa.resolve(_as_pyvo_result(observations))
    assert _urls(manifest) == _urls(expected)


def test_a_votable_file_of_observations_resolves_like_the_frame(observations, tmp_path):
    path = tmp_path / "observations.vot"
    to_table(observations, votable=True).write(path, format="votable")
    from astropy.table import Table

    assert _urls(vodaxa.resolve(Table.read(path))) == _urls(vodaxa.resolve(observations))


def test_options_for_observation_tables_apply_to_a_table_too(observations):
    table = to_table(observations[observations["mission"] == "chandra"])
    manifest = vodaxa.resolve(table, filetypes=["evt2"])
    assert len(manifest.files) > 0 and set(manifest.files["mission"]) == {"chandra"}


def test_a_table_with_neither_observations_nor_datalink_is_refused(vodaxa_sandbox):
    from astropy.table import Table

    with pytest.raises(ResolveError, match="no DataLink service descriptor"):
        vodaxa.resolve(Table({"ra": [1.0], "dec": [2.0]}))


def test_obsids_read_as_numbers_are_text_again_or_refused_with_the_reason(vodaxa_sandbox):
    from astropy.table import Table

    from vodaxa.errors import InputError

    found = vodaxa.search("3C 105", missions=["chandra"]).head(1)
    as_number = to_table(found)
    as_number["obs_id"] = [int(found["obs_id"].iloc[0])]
    assert _urls(vodaxa.resolve(as_number)) == _urls(vodaxa.resolve(found))
    as_float = found.assign(obs_id=[float(found["obs_id"].iloc[0])])
    assert _urls(vodaxa.resolve(as_float)) == _urls(vodaxa.resolve(found))
    with pytest.raises(InputError, match="no 'datalink_id' column"):
        vodaxa.resolve(Table({"mission": ["chandra"], "obs_id": [found["obs_id"].iloc[0]]}))
    with pytest.raises(InputError, match=r"lose leading zeros.*dtype"):
        vodaxa.resolve(Table({"mission": ["xmm_pointed"], "obs_id": [834638918]}))
    with pytest.raises(InputError, match="have no obs_id"):
        vodaxa.resolve(pd.DataFrame({"mission": ["chandra", "chandra"], "obs_id": ["9487", None]}))
