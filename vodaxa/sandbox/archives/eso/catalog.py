"""The ESO sandbox's catalogue: well-known targets, instruments and their setups and calibrations,
Phase 3 collections, and the columns of ``dbo.raw`` and ``ivoa.ObsCore`` as archive.eso.org serves them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ...protocols.vo import FieldMeta

PLACEHOLDER = "http://eso-archive.sandbox.invalid"
#: ESO's IVOA identifier prefix of a dataset (DataLink IDs, ``obs_publisher_did``).
IVO_ID = "ivo://eso.org/ID?"
_MJD_UNIX = 40587.0  # MJD of 1970-01-01
_NIGHT = (0.96, 1.42)  # fraction of a UT day when it is night in Chile (23:00 to 10:00 UT)
_DAY = (0.5, 0.875)  # daytime, when calibrations are taken


class Target(NamedTuple):
    """A well-known target: spellings used as ``object``/``target_name``, and its ICRS position."""

    name: str
    spellings: tuple[str, ...]
    ra: float
    dec: float


TARGETS: tuple[Target, ...] = (
    Target("Sgr A*", ("SGRA", "SGR A", "GC_IRS16"), 266.41683, -29.00781),
    Target("NGC 253", ("NGC253", "NGC 253"), 11.88806, -25.28822),
    Target("30 Dor", ("30DOR", "30 DOR", "R136"), 84.67665, -69.10093),
    Target("3C 273", ("3C273", "3C 273"), 187.27792, 2.05239),
    Target("Eta Car", ("ETA_CAR", "ETA CARINAE"), 161.26477, -59.68447),
)


# ---------------------------------------------------------------------------------- instruments


class Setup(NamedTuple):
    """One consistent instrument configuration of a raw frame."""

    tech: str  # dp_tech of science frames
    mode: str  # ins_mode
    filter: str | None = None  # filter_path
    grating: str | None = None  # grat_path
    grism: str | None = None  # gris_path
    slit: str | None = None  # slit_path


_OPTICAL_CAL = ("BIAS", "FLAT,LAMP", "FLAT,SKY", "WAVE,LAMP", "STD")
_IR_CAL = ("DARK", "FLAT,LAMP", "FLAT,SKY", "WAVE,LAMP", "STD")
_IMAGER_CAL = ("DARK", "FLAT,SKY", "FLAT,LAMP", "STD")
#: Calibrations that do not look at the sky (no position).
_DOME = {"BIAS", "DARK", "FLAT,LAMP", "WAVE,LAMP"}


@dataclass(frozen=True)
class Instrument:
    """A raw-data instrument: its frames' prefix, telescope, setups and typical exposures."""

    name: str
    prefix: str
    telescope: str
    first_mjd: float
    setups: tuple[Setup, ...]
    exposure: tuple[float, float]  # science exposure range (s)
    size_kb: int
    calibs: tuple[str, ...]
    infrared: bool = False
    chip: str | None = None
    last_mjd: float = 1e9
    weight: float = 1.0


INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument(
        name="FORS2", prefix="FORS2", telescope="ESO-VLT-U1", first_mjd=51270.0,
        setups=(
            Setup("IMAGE", "IMG", "R_SPECIAL"),
            Setup("IMAGE", "IMG", "V_HIGH"),
            Setup("SPECTRUM", "LSS", grism="GRIS_300V", slit="SLIT_1.0"),
            Setup("MOS", "MOS", grism="GRIS_600B"),
        ),
        exposure=(10.0, 1800.0), size_kb=8500, calibs=_OPTICAL_CAL, weight=1.6,
    ),
    Instrument(
        name="MUSE", prefix="MUSE", telescope="ESO-VLT-U4", first_mjd=56690.0,
        setups=(Setup("IFU", "WFM-NOAO-N"), Setup("IFU", "WFM-AO-N"), Setup("IFU", "NFM-AO-N")),
        exposure=(60.0, 1800.0), size_kb=180000, calibs=_OPTICAL_CAL, weight=1.6,
    ),
    Instrument(
        name="HAWKI", prefix="HAWKI", telescope="ESO-VLT-U4", first_mjd=54280.0,
        setups=(
            Setup("IMAGE,JITTER", "IMAGE", "J"),
            Setup("IMAGE,JITTER", "IMAGE", "Ks"),
            Setup("IMAGE", "IMAGE", "BrG"),
        ),
        exposure=(2.0, 120.0), size_kb=33000, calibs=_IMAGER_CAL, infrared=True, chip="ESO-Hawaii2RG",
        weight=1.2,
    ),
    Instrument(
        name="UVES", prefix="UVES", telescope="ESO-VLT-U2", first_mjd=51440.0,
        setups=(
            Setup("ECHELLE", "RED", grating="CD#3", slit="SLIT_1.0"),
            Setup("ECHELLE", "BLUE", grating="CD#2", slit="SLIT_1.0"),
            Setup("ECHELLE", "DICHR#1", grating="CD#2", slit="SLIT_0.8"),
        ),
        exposure=(60.0, 3600.0), size_kb=9000, calibs=_OPTICAL_CAL, weight=1.4,
    ),
    Instrument(
        name="XSHOOTER", prefix="XSHOO", telescope="ESO-VLT-U2", first_mjd=54950.0,
        setups=(
            Setup("ECHELLE,SLIT", "SLIT", slit="SLIT_1.0"),
            Setup("ECHELLE,SLIT,NODDING", "SLIT", slit="SLIT_0.9"),
            Setup("ECHELLE,IFU", "IFU"),
        ),
        exposure=(60.0, 3600.0), size_kb=6000, calibs=_OPTICAL_CAL, weight=1.4,
    ),
    Instrument(
        name="SPHERE", prefix="SPHER", telescope="ESO-VLT-U3", first_mjd=56780.0,
        setups=(
            Setup("IFU", "IRDIFS", "YJ"),
            Setup("IMAGE,DUAL", "IRDIFS_EXT", "DB_K12"),
            Setup("IMAGE", "CI", "B_H"),
        ),
        exposure=(1.0, 64.0), size_kb=57000, calibs=_IR_CAL, infrared=True, chip="ESO-Hawaii2RG",
    ),
    Instrument(
        name="SINFONI", prefix="SINFO", telescope="ESO-VLT-U4", first_mjd=53080.0, last_mjd=58650.0,
        setups=(
            Setup("IFU", "IR_SPECTROSCOPY", "H+K", "H+K"),
            Setup("IFU,NODDING", "IR_SPECTROSCOPY", "K", "K"),
        ),
        exposure=(30.0, 600.0), size_kb=17000, calibs=_IR_CAL, infrared=True, chip="ESO-Hawaii2RG",
        weight=0.8,
    ),
    Instrument(
        name="VIRCAM", prefix="VCAM", telescope="ESO-VISTA", first_mjd=55000.0,
        setups=(
            Setup("IMAGE,JITTER", "IMAGE", "Ks"),
            Setup("IMAGE,JITTER", "IMAGE", "J"),
            Setup("IMAGE,JITTER", "IMAGE", "Z"),
        ),
        exposure=(4.0, 60.0), size_kb=280000, calibs=_IMAGER_CAL, infrared=True,
    ),
)  # fmt: skip


# ---------------------------------------------------------------------------------- collections


class Band(NamedTuple):
    """A spectral coverage of a product: filter (None for spectra and cubes) and range in metres."""

    filter: str | None
    em_min: float
    em_max: float


@dataclass(frozen=True)
class Collection:
    """A Phase 3 collection of ``ivoa.ObsCore``: what its products are and where they lie."""

    name: str
    instrument: str
    facility: str
    products: tuple[tuple[str, str | None], ...]  # (dataproduct_type, dataproduct_subtype)
    bands: tuple[Band, ...]
    calib_level: int
    fov: tuple[float, float]  # s_fov range (deg)
    pixel: float | None  # s_pixel_scale (arcsec)
    obstech: str
    p3orig: str
    exptime: tuple[float, float]  # t_exptime range (s)
    first_mjd: float
    targets: tuple[int, ...]  # indices into TARGETS its products cluster around
    release: int  # number of its release description
    resolving: tuple[float, float] | None = None  # em_res_power range of spectra (None: from the band)
    em_xel: int = 1
    weight: float = 1.0


_VISTA = (Band("Z", 8.3e-7, 9.3e-7), Band("J", 1.17e-6, 1.33e-6), Band("Ks", 1.99e-6, 2.30e-6))
COLLECTIONS: tuple[Collection, ...] = (
    Collection(
        name="VVV", instrument="VIRCAM", facility="ESO-VISTA",
        products=(("image", "tile"), ("measurements", "srctbl")), bands=_VISTA, calib_level=2,
        fov=(1.85, 1.95), pixel=0.34, obstech="IMAGE,JITTER", p3orig="EDP", exptime=(16.0, 80.0),
        first_mjd=55050.0, targets=(0,), release=101, weight=1.5,
    ),
    Collection(
        name="MUSE", instrument="MUSE", facility="ESO-VLT-U4",
        products=(("cube", None),), bands=(Band(None, 4.75e-7, 9.35e-7),), calib_level=3,
        fov=(0.016, 0.018), pixel=0.2, obstech="IFU", p3orig="IDP", exptime=(600.0, 7200.0),
        first_mjd=56700.0, targets=(1, 2, 0), release=102, resolving=(1700.0, 3500.0), em_xel=3681,
        weight=1.2,
    ),
    Collection(
        name="HAWKI", instrument="HAWKI", facility="ESO-VLT-U4", products=(("image", None),),
        bands=(Band("J", 1.17e-6, 1.33e-6), Band("Ks", 1.99e-6, 2.30e-6), Band("BrG", 2.15e-6, 2.18e-6)),
        calib_level=2, fov=(0.12, 0.13), pixel=0.106, obstech="IMAGE,JITTER", p3orig="IDP",
        exptime=(60.0, 1200.0), first_mjd=54300.0, targets=(0, 2, 4), release=103,
    ),
    Collection(
        name="KIDS", instrument="OMEGACAM", facility="ESO-VST",
        products=(("image", "tile"), ("measurements", "srctbl")),
        bands=(Band("u", 3.2e-7, 3.8e-7), Band("g", 4.0e-7, 5.5e-7), Band("r", 5.6e-7, 6.9e-7)),
        calib_level=3, fov=(1.4, 1.5), pixel=0.21, obstech="IMAGE,OFFSET", p3orig="EDP",
        exptime=(240.0, 1800.0), first_mjd=55800.0, targets=(), release=104,
    ),
    Collection(
        name="UVES", instrument="UVES", facility="ESO-VLT-U2", products=(("spectrum", None),),
        bands=(Band(None, 3.04e-7, 3.88e-7), Band(None, 4.72e-7, 6.84e-7), Band(None, 6.65e-7, 1.04e-6)),
        calib_level=2, fov=(0.0002, 0.0004), pixel=None, obstech="ECHELLE", p3orig="IDP",
        exptime=(300.0, 5400.0), first_mjd=51500.0, targets=(3, 4), release=105,
        resolving=(35000.0, 80000.0), em_xel=60000,
    ),
    Collection(
        name="XSHOOTER", instrument="XSHOOTER", facility="ESO-VLT-U2", products=(("spectrum", None),),
        bands=(Band(None, 2.98e-7, 5.56e-7), Band(None, 5.34e-7, 1.02e-6), Band(None, 9.94e-7, 2.48e-6)),
        calib_level=2, fov=(0.0003, 0.0004), pixel=None, obstech="ECHELLE,SLIT", p3orig="IDP",
        exptime=(300.0, 3600.0), first_mjd=55000.0, targets=(3, 1, 2), release=106,
        resolving=(4000.0, 11000.0), em_xel=24000,
    ),
)  # fmt: skip


# ---------------------------------------------------------------------------------- columns


def _col(name: str, datatype: str = "char", unit: str = "", ucd: str = "", description: str = "") -> FieldMeta:
    """A column of one of ESO's tables."""
    return FieldMeta(name, datatype, unit, ucd, description)


#: dbo.raw, in the order ESO returns them (the captured query_main/query_instrument results).
RAW_COLUMNS: tuple[FieldMeta, ...] = (
    _col("access_estsize", "long", "kbyte", "phys.size;meta.file", "Estimated size of the file"),
    _col("access_url", "char", "", "meta.ref.url", "URL to download the file"),
    _col("datalink_url", "char", "", "meta.ref.url", "DataLink URL of the file"),
    _col("date_obs", "char", "", "time.start", "DATE-OBS of the frame (UT, to 0.1 ms)"),
    _col("dec", "double", "deg", "pos.eq.dec;meta.main", "Declination of the target (J2000)"),
    _col("dec_pnt", "double", "deg", "pos.eq.dec;instr.pointing", "Declination of the pointing"),
    _col("det_chip1id", "char", "", "instr.det", "Detector chip identifier"),
    _col("det_chop_ncycles", "int", "", "", "Number of chopping cycles"),
    _col("det_dit", "double", "s", "time.duration", "Detector integration time"),
    _col("det_expid", "int", "", "meta.id", "Detector exposure identifier"),
    _col("det_ndit", "int", "", "", "Number of detector integrations"),
    _col("dp_cat", "char", "", "meta.code.class", "Data category: SCIENCE, CALIB, ACQUISITION"),
    _col("dp_id", "char", "", "meta.id;meta.main", "Dataset identifier"),
    _col("dp_tech", "char", "", "meta.code.class", "Observation technique"),
    _col("dp_type", "char", "", "meta.code.class", "Data type: OBJECT, SKY, BIAS, FLAT..."),
    _col("ecl_lat", "double", "deg", "pos.ecliptic.lat", "Ecliptic latitude"),
    _col("ecl_lon", "double", "deg", "pos.ecliptic.lon", "Ecliptic longitude"),
    _col("exp_start", "timestamp", "", "time.start;obs.exposure", "Start of the exposure (UT)"),
    _col("exposure", "double", "s", "time.duration;obs.exposure", "Exposure time"),
    _col("filter_path", "char", "", "instr.filter", "Filters in the light path"),
    _col("gal_lat", "double", "deg", "pos.galactic.lat", "Galactic latitude"),
    _col("gal_lon", "double", "deg", "pos.galactic.lon", "Galactic longitude"),
    _col("grat_path", "char", "", "instr.setup", "Gratings in the light path"),
    _col("gris_path", "char", "", "instr.setup", "Grisms in the light path"),
    _col("ins_mode", "char", "", "instr.setup", "Instrument mode"),
    _col("instrument", "char", "", "instr", "Instrument name"),
    _col("lambda_max", "double", "", "em.wl;stat.max", "Maximum wavelength"),
    _col("lambda_min", "double", "", "em.wl;stat.min", "Minimum wavelength"),
    _col("last_mod_date", "timestamp", "", "time.processing", "Last modification of the metadata"),
    _col("mjd_obs", "double", "d", "time.start;obs", "MJD-OBS: start of the exposure"),
    _col("ob_id", "int", "", "meta.id;obs", "Observation block identifier"),
    _col("ob_name", "char", "", "meta.id;obs", "Observation block name"),
    _col("object", "char", "", "meta.id;src", "Target designation as in the OBJECT keyword"),
    _col("obs_mode", "char", "", "meta.code", "Observing mode: s (service) or v (visitor)"),
    _col("origfile", "char", "", "meta.id;meta.file", "Original file name"),
    _col("period", "int", "", "time.epoch", "ESO observing period"),
    _col("pi_coi", "char", "", "meta.id.PI", "PI and co-investigators"),
    _col("prog_id", "char", "", "meta.id", "Programme (run) identifier"),
    _col("prog_title", "char", "", "meta.title", "Programme title"),
    _col("prog_type", "int", "", "meta.code.class", "Programme type"),
    _col("ra", "double", "deg", "pos.eq.ra;meta.main", "Right ascension of the target (J2000)"),
    _col("ra_pnt", "double", "deg", "pos.eq.ra;instr.pointing", "Right ascension of the pointing"),
    _col("release_date", "timestamp", "", "time.release", "When the frame becomes (became) public"),
    _col("s_region", "char", "", "pos.outline;obs.field", "STC-S region of the frame"),
    _col("slit_path", "char", "", "instr.setup", "Slits in the light path"),
    _col("target", "char", "", "meta.id;src", "Target name from the observation block"),
    _col("tel_airm_end", "double", "", "obs.airMass", "Airmass at the end"),
    _col("tel_airm_start", "double", "", "obs.airMass", "Airmass at the start"),
    _col("tel_alt", "double", "deg", "pos.az.alt", "Telescope altitude"),
    _col("tel_ambi_fwhm_end", "double", "arcsec", "instr.obsty.seeing", "Seeing at the end"),
    _col("tel_ambi_fwhm_start", "double", "arcsec", "instr.obsty.seeing", "Seeing at the start"),
    _col("tel_ambi_pres_end", "double", "hPa", "phys.pressure", "Air pressure at the end"),
    _col("tel_ambi_pres_start", "double", "hPa", "phys.pressure", "Air pressure at the start"),
    _col("tel_ambi_rhum", "double", "%", "obs.atmos;phys.humidity", "Relative humidity"),
    _col("tel_az", "double", "deg", "pos.az.azi", "Telescope azimuth"),
    _col("telescope", "char", "", "instr.tel", "Telescope"),
    _col("tpl_expno", "int", "", "meta.number", "Exposure number within the template"),
    _col("tpl_id", "char", "", "meta.id", "Template identifier"),
    _col("tpl_name", "char", "", "meta.title", "Template name"),
    _col("tpl_nexp", "int", "", "meta.number", "Number of exposures of the template"),
    _col("tpl_seqno", "int", "", "meta.number", "Template sequence number within the OB"),
    _col("tpl_start", "char", "", "time.start", "Start of the template (UT)"),
)

#: ivoa.ObsCore, ESO's column set (the captured query_surveys result), in that order.
OBSCORE_COLUMNS: tuple[FieldMeta, ...] = (
    _col("abmaglim", "double", "mag", "phot.mag;stat.max", "5-sigma AB limiting magnitude"),
    _col("access_estsize", "long", "kbyte", "phys.size;meta.file", "Estimated size of the product"),
    _col("access_format", "char", "", "meta.code.mime", "Format of what access_url returns"),
    _col("access_url", "char", "", "meta.ref.url", "DataLink URL of the product"),
    _col("bib_reference", "char", "", "meta.bib.bibcode", "Bibcode of the describing paper"),
    _col("calib_level", "int", "", "meta.code;obs.calib", "Calibration level (0-4)"),
    _col("dataproduct_subtype", "char", "", "meta.code.class", "ESO product subtype"),
    _col("dataproduct_type", "char", "", "meta.code.class", "image, cube, spectrum, measurements..."),
    _col("dp_id", "char", "", "meta.id;meta.main", "ESO dataset identifier (ADP...)"),
    _col("em_max", "double", "m", "em.wl;stat.max", "Maximum wavelength"),
    _col("em_min", "double", "m", "em.wl;stat.min", "Minimum wavelength"),
    _col("em_res_power", "double", "", "spect.resolution", "Resolving power"),
    _col("em_xel", "long", "", "meta.number", "Number of spectral elements"),
    _col("facility_name", "char", "", "meta.id;instr.tel", "Telescope"),
    _col("filter", "char", "", "instr.filter", "Filter"),
    _col("gal_lat", "double", "deg", "pos.galactic.lat", "Galactic latitude"),
    _col("gal_lon", "double", "deg", "pos.galactic.lon", "Galactic longitude"),
    _col("instrument_name", "char", "", "meta.id;instr", "Instrument"),
    _col("last_mod_date", "timestamp", "", "time.processing", "Last modification of the metadata"),
    _col("multi_ob", "char", "", "meta.code", "S: from a single OB, M: from several"),
    _col("n_obs", "int", "", "meta.number", "Number of observations combined"),
    _col("o_calib_status", "char", "", "meta.code.qual", "Calibration status of the observable"),
    _col("o_ucd", "char", "", "meta.ucd", "UCD of the observable"),
    _col("obs_collection", "char", "", "meta.id", "Collection (survey or processing stream)"),
    _col("obs_creator_did", "char", "", "meta.id", "Identifier given by the creator"),
    _col("obs_creator_name", "char", "", "meta.id", "Creator of the product"),
    _col("obs_id", "char", "", "meta.id", "Observation identifier"),
    _col("obs_publisher_did", "char", "", "meta.ref.ivoid", "IVOA publisher identifier"),
    _col("obs_release_date", "timestamp", "", "time.release", "When the product becomes (became) public"),
    _col("obs_title", "char", "", "meta.title", "Title of the product"),
    _col("obstech", "char", "", "meta.code", "Observation technique"),
    _col("p3orig", "char", "", "meta.code", "Phase 3 origin: IDP (ESO), EDP (external)"),
    _col("pol_states", "char", "", "meta.code;phys.polarization", "Polarisation states"),
    _col("pol_xel", "long", "", "meta.number", "Number of polarisation samples"),
    _col("preview_html", "char", "", "meta.ref.url", "Preview page of the product"),
    _col("proposal_id", "char", "", "meta.id;obs.proposal", "Programme identifier"),
    _col("publication_date", "timestamp", "", "time.release", "When the product was published"),
    _col("release_description", "char", "", "meta.ref.url", "Release description document"),
    _col("s_dec", "double", "deg", "pos.eq.dec", "Declination of the centre (ICRS)"),
    _col("s_fov", "double", "deg", "phys.angSize;instr.fov", "Diameter of the covered region"),
    _col("s_pixel_scale", "double", "arcsec", "phys.angSize;instr.pixel", "Pixel scale"),
    _col("s_ra", "double", "deg", "pos.eq.ra", "Right ascension of the centre (ICRS)"),
    _col("s_region", "char", "", "pos.outline;obs.field", "STC-S footprint"),
    _col("s_resolution", "double", "arcsec", "pos.angResolution", "Spatial resolution"),
    _col("s_xel1", "long", "", "meta.number", "Pixels along the first axis"),
    _col("s_xel2", "long", "", "meta.number", "Pixels along the second axis"),
    _col("snr", "double", "", "stat.snr", "Signal-to-noise ratio"),
    _col("strehl", "double", "", "phys.size;instr.fov", "Strehl ratio"),
    _col("t_exptime", "double", "s", "time.duration;obs.exposure", "Total exposure time"),
    _col("t_max", "double", "d", "time.end;obs.exposure", "End of the observations (MJD)"),
    _col("t_min", "double", "d", "time.start;obs.exposure", "Start of the observations (MJD)"),
    _col("t_resolution", "double", "s", "time.resolution", "Time resolution"),
    _col("t_xel", "long", "", "meta.number", "Number of time samples"),
    _col("target_name", "char", "", "meta.id;src", "Target name"),
)


@dataclass(frozen=True)
class EsoTable:
    """A table of ESO's tap_obs: where it is published and its columns."""

    schema: str
    name: str
    description: str
    columns: tuple[FieldMeta, ...]


#: The instrument tables of tap_obs's ``ist`` schema, as ESO lists them (``ist.<name>``, over dbo.raw's frames).
IST_TABLES: tuple[str, ...] = (
    "amber", "apex", "crires", "eris", "espresso", "fiat", "fors1", "fors2", "giraffe", "gravity", "hawki",
    "isaac", "kmos", "matisse", "midi", "muse", "naco", "omegacam", "pionier", "sinfoni", "sphere", "uves",
    "vimos", "vircam", "visir", "wlgsu", "xshooter",
)  # fmt: skip

TABLES: dict[str, EsoTable] = {
    "raw": EsoTable("dbo", "raw", "Raw frames of all ESO instruments (one row per file)", RAW_COLUMNS),
    "ObsCore": EsoTable("ivoa", "ObsCore", "ESO Phase 3 data products in the IVOA ObsCore model", OBSCORE_COLUMNS),
}
