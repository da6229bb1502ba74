"""A TAP 1.1 service for aiohttp: sync and async (UWS 1.1) queries, uploads, MAXREC, VOSI."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import itertools
import math
import warnings
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape, quoteattr

import numpy as np
from aiohttp import BodyPartReader, web
from astropy.io.votable import parse_single_table
from astropy.table import Table
from multidict import MultiDict

from .adql import ADQLError
from .tapdb import QueryResult, TapDatabase, UploadError
from .uws import ACTIVE, UWS_NS, Access, AccessHook, Job, JobLimits, iso, now, owner_element, time_element
from .vo import VOTABLE_MIME, ServiceDescriptor, error_document, result_document

DescriptorHook = Callable[[QueryResult, str], list[ServiceDescriptor]]


_PARAM_NAMES = {
    "LANG",
    "QUERY",
    "MAXREC",
    "RESPONSEFORMAT",
    "FORMAT",
    "UPLOAD",
    "REQUEST",
    "VERSION",
    "PHASE",
    "RUNID",
}
_ARRAYSIZE = ' arraysize="*"'
_FORMATS = {"", "votable", "application/x-votable+xml", "text/xml", "votable/td", "application/xml"}
_CSV_FORMATS = {"csv", "text/csv"}  # DALI's CSV: a header line, then one line per row (TAP+ clients ask for it)
CSV_MIME = "text/csv"


class ParameterError(ValueError):
    """A TAP parameter is missing or wrong (answered with HTTP 400)."""


class TapService:
    """The TAP endpoints for one :class:`TapDatabase`, mounted under a path prefix."""

    def __init__(
        self,
        db: TapDatabase,
        *,
        descriptors: DescriptorHook | None = None,
        default_maxrec: int = 100_000,
        queue_delay: float = 0.0,
        max_wait: float = 30.0,
        max_upload_bytes: int = 100_000_000,
        base_placeholder: str | None = None,
        access: AccessHook | None = None,
        limits: JobLimits | None = None,
    ) -> None:
        self.db = db
        self.limits = limits or JobLimits()
        self.descriptors = descriptors
        self.access = access  # None: every request is anonymous and sees every row
        # Stored URLs beginning with this stand for the archive's own base URL, known only per request.
        self.base_placeholder = base_placeholder
        self.default_maxrec = default_maxrec
        self.queue_delay = queue_delay
        self.max_wait = max_wait
        self.max_upload_bytes = max_upload_bytes
        self.jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)
        self.prefix = ""

    def add_routes(self, app: web.Application, prefix: str) -> None:
        """Mount the service at ``prefix`` (for example ``/xamin/vo/tap``)."""
        self.prefix = prefix.rstrip("/")
        p = self.prefix
        app.router.add_route("*", f"{p}/sync", self.sync)
        app.router.add_get(f"{p}/async", self.job_list)
        app.router.add_post(f"{p}/async", self.create_job)
        app.router.add_route("*", f"{p}/async/{{job}}", self.job)
        app.router.add_route("*", f"{p}/async/{{job}}/{{item}}", self.job_item)
        app.router.add_get(f"{p}/async/{{job}}/results/result", self.job_result)
        app.router.add_get(f"{p}/availability", self.availability)
        app.router.add_get(f"{p}/capabilities", self.capabilities)
        app.router.add_get(f"{p}/tables", self.tables)

    # ------------------------------------------------------------------------------ parameters
    async def _params(self, request: web.Request) -> tuple[MultiDict, dict[str, bytes]]:
        """DALI parameters (names case-insensitive, upper-cased) and any inline upload parts."""
        params: MultiDict = MultiDict()
        files: dict[str, bytes] = {}
        for key, value in request.query.items():
            params.add(key.upper(), value)
        if request.method == "POST":
            if request.content_type.startswith("multipart/"):
                reader = await request.multipart()
                size = 0
                while (part := await reader.next()) is not None:
                    if not isinstance(part, BodyPartReader):
                        raise ParameterError("a multipart body nested in another is not supported")
                    data = await part.read(decode=False)
                    size += len(data)
                    if size > self.max_upload_bytes:
                        raise ParameterError(f"upload larger than {self.max_upload_bytes} bytes")
                    name = part.name or ""
                    if part.filename is not None or name.upper() not in _PARAM_NAMES:
                        files[name] = bytes(data)
                    else:
                        params.add(name.upper(), data.decode())
            else:
                form = await request.post()
                for key, field in form.items():
                    if isinstance(field, str):
                        params.add(key.upper(), field)
                    elif isinstance(field, (bytes, bytearray)):
                        params.add(key.upper(), bytes(field).decode())
                    else:  # an uploaded file
                        params.add(key.upper(), field.file.read().decode())
        return params, files

    def _check(self, params: Mapping[str, str]) -> tuple[str, int | None]:
        lang = params.get("LANG", "")
        if not lang:
            raise ParameterError("LANG is missing: send LANG=ADQL")
        if not lang.upper().startswith("ADQL"):
            raise ParameterError(f"LANG={lang} is not supported: this service speaks ADQL")
        fmt = params.get("RESPONSEFORMAT", params.get("FORMAT", "")).lower()
        if fmt not in _FORMATS | _CSV_FORMATS:
            raise ParameterError(f"RESPONSEFORMAT={fmt} is not supported: use votable or csv")
        query = params.get("QUERY", "")
        if not query.strip():
            raise ParameterError("QUERY is missing: send an ADQL SELECT statement")
        maxrec = params.get("MAXREC")
        if maxrec in (None, ""):
            return query, self.default_maxrec
        try:
            value = int(maxrec)
        except ValueError:
            raise ParameterError(f"MAXREC={maxrec} is not an integer") from None
        if value < 0:
            raise ParameterError("MAXREC must not be negative")
        return query, value

    @staticmethod
    def _uploads(params: Mapping[str, str], files: Mapping[str, bytes]) -> dict[str, Table]:
        tables: dict[str, Table] = {}
        spec = params.get("UPLOAD", "")
        for item in filter(None, (s.strip() for s in spec.split(";"))):
            name, _, uri = item.partition(",")
            if not name or not uri:
                raise UploadError(f"UPLOAD item '{item}' must be 'name,param:partname'")
            if not name.replace("_", "a").isalnum() or not name[0].isalpha():
                raise UploadError(f"upload table name '{name}' is not a valid ADQL identifier")
            if not uri.startswith("param:"):
                raise UploadError(f"upload '{name}': only inline uploads (param:...) are supported here")
            blob = files.get(uri[len("param:") :])
            if blob is None:
                raise UploadError(f"upload '{name}': no multipart part named '{uri[6:]}' was sent")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tables[name] = parse_single_table(io.BytesIO(blob)).to_table()
            except Exception as err:  # astropy raises many types for malformed VOTables
                raise UploadError(f"upload '{name}' is not a readable VOTable: {err}") from None
        return tables

    # ------------------------------------------------------------------------------ execution
    def _access(self, request: web.Request) -> Access:
        """The request's identity and row filters, from the hook (which may raise an HTTP error)."""
        return self.access(request) if self.access else Access()

    def _query_result(
        self, query: str, maxrec: int | None, uploads: Mapping[str, Table], base: str, access: Access
    ) -> QueryResult:
        if self.base_placeholder:
            query = query.replace(base, self.base_placeholder)  # literals then match the stored URLs
        result = self.db.execute(query, maxrec=maxrec, uploads=uploads, filters=access.filters)
        if self.base_placeholder:
            _rebase(result, self.base_placeholder, base)
        return result

    def _run(self, query: str, maxrec: int | None, uploads: Mapping[str, Table], base: str, access: Access) -> bytes:
        result = self._query_result(query, maxrec, uploads, base, access)
        descriptors = self.descriptors(result, base) if self.descriptors else []
        return result_document(result.fields, result.columns, overflow=result.overflow, descriptors=descriptors)

    @staticmethod
    def _wants_csv(params: Mapping[str, str]) -> bool:
        return params.get("RESPONSEFORMAT", params.get("FORMAT", "")).lower() in _CSV_FORMATS

    def _answer(
        self,
        params: Mapping[str, str],
        query: str,
        maxrec: int | None,
        uploads: Mapping[str, Table],
        base: str,
        access: Access,
    ) -> bytes:
        """The result in the format asked for: VOTable, or CSV (which carries no overflow flag or descriptors)."""
        if self._wants_csv(params):
            return csv_document(self._query_result(query, maxrec, uploads, base, access))
        return self._run(query, maxrec, uploads, base, access)

    @staticmethod
    def _base(request: web.Request) -> str:
        return f"{request.scheme}://{request.host}"

    async def sync(self, request: web.Request) -> web.Response:
        """``/sync``: run the query now and answer with the result VOTable."""
        access = self._access(request)
        try:
            params, files = await self._params(request)
            query, maxrec = self._check(params)
            uploads = self._uploads(params, files)
            body = await asyncio.to_thread(self._answer, params, query, maxrec, uploads, self._base(request), access)
        except (ParameterError, ADQLError, UploadError) as err:
            return _error(str(err), 400)
        except Exception as err:  # a sandbox bug still answers as a TAP service would
            return _error(f"internal error in the sandbox: {err!r}", 500)
        return web.Response(body=body, content_type=CSV_MIME if self._wants_csv(params) else VOTABLE_MIME)

    # ------------------------------------------------------------------------------ UWS
    def _job_url(self, request: web.Request, job: Job, tail: str = "") -> str:
        return f"{self._base(request)}{self.prefix}/async/{job.id}{tail}"

    def _get_job(self, request: web.Request) -> Job:
        job = self.jobs.get(request.match_info["job"])
        if job is None:
            raise web.HTTPNotFound(text=f"no job {request.match_info['job']} (deleted or never created)")
        if job.access.owner is not None and self._access(request).owner != job.access.owner:
            raise web.HTTPForbidden(text=f"job {job.id} belongs to another user")
        return job

    async def create_job(self, request: web.Request) -> web.Response:
        """POST ``/async``: create a PENDING job (started at once if PHASE=RUN came along)."""
        access = self._access(request)
        try:
            params, files = await self._params(request)
            uploads = self._uploads(params, files)
        except (ParameterError, UploadError) as err:
            return _error(str(err), 400)
        self._reap()
        job = Job(
            str(next(self._ids)),
            params,
            uploads,
            access,
            execution_duration=self.limits.execution_duration,
            destruction=now() + timedelta(seconds=self.limits.retention),
        )
        self.jobs[job.id] = job
        if params.get("PHASE", "").upper() == "RUN":
            self._start(job, self._base(request))
        raise web.HTTPSeeOther(self._job_url(request, job))

    def _reap(self) -> None:
        """Destroy jobs whose destruction time has passed, as a UWS service must."""
        current = now()
        for job in [j for j in self.jobs.values() if j.destruction <= current]:
            if job.task and not job.task.done():
                job.task.cancel()
            del self.jobs[job.id]

    def _start(self, job: Job, base: str) -> None:
        if job.phase not in {"PENDING", "HELD"}:
            return
        job.set_phase("QUEUED")
        job.task = asyncio.get_running_loop().create_task(self._execute(job, base))

    async def _execute(self, job: Job, base: str) -> None:
        try:
            if self.queue_delay:
                await asyncio.sleep(self.queue_delay)
            job.started = now()
            job.set_phase("EXECUTING")
            query, maxrec = self._check(job.params)
            coro = asyncio.to_thread(self._answer, job.params, query, maxrec, job.uploads, base, job.access)
            limit = job.execution_duration or None
            job.result = await asyncio.wait_for(coro, timeout=limit)
            job.ended = now()
            job.set_phase("COMPLETED")
        except asyncio.TimeoutError:
            self._fail(job, f"the query ran longer than executionDuration={job.execution_duration} s")
        except (ParameterError, ADQLError, UploadError) as err:
            self._fail(job, str(err))
        except asyncio.CancelledError:
            job.ended = now()
            job.set_phase("ABORTED")
        except Exception as err:  # a sandbox bug must still end the job visibly
            self._fail(job, f"internal error: {err!r}")

    @staticmethod
    def _fail(job: Job, message: str) -> None:
        job.error = message
        job.ended = now()
        job.set_phase("ERROR")

    async def job_list(self, request: web.Request) -> web.Response:
        """GET ``/async``: the UWS job list, filtered by PHASE and LAST as UWS 1.1 allows."""
        phases = {p.upper() for p in request.query.getall("PHASE", [])}
        owner = self._access(request).owner
        jobs = [j for j in self.jobs.values() if (not phases or j.phase in phases) and j.access.owner in (None, owner)]
        if "LAST" in request.query:
            jobs = sorted(jobs, key=lambda j: j.created)[-int(request.query["LAST"]) :]
        refs = "".join(
            f"<uws:jobref id={quoteattr(j.id)} xlink:href={quoteattr(self._job_url(request, j))}>"
            f"<uws:phase>{j.phase}</uws:phase><uws:creationTime>{iso(j.created)}</uws:creationTime>"
            "</uws:jobref>"
            for j in jobs
        )
        return _xml(f'<uws:jobs {UWS_NS} version="1.1">{refs}</uws:jobs>')

    async def job(self, request: web.Request) -> web.Response:
        """``/async/{job}``: GET the job document (blocking with WAIT); DELETE or ACTION=DELETE it."""
        job = self._get_job(request)
        if request.method == "DELETE":
            return self._delete(request, job)
        if request.method == "POST":
            form = await request.post()
            if str(form.get("ACTION", "")).upper() == "DELETE":
                return self._delete(request, job)
            return _error("POST to a job accepts only ACTION=DELETE", 400)
        wait = request.query.get("WAIT")
        if wait is not None and job.phase in ACTIVE | {"PENDING"}:
            expected = request.query.get("PHASE", job.phase).upper()
            if expected == job.phase:
                limit = self.max_wait if float(wait) < 0 else min(float(wait), self.max_wait)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(job.changed.wait(), timeout=limit)
        return _xml(self._job_xml(request, job))

    def _delete(self, request: web.Request, job: Job) -> web.Response:
        if job.task and not job.task.done():
            job.task.cancel()
        self.jobs.pop(job.id, None)
        raise web.HTTPSeeOther(f"{self._base(request)}{self.prefix}/async")

    async def job_item(self, request: web.Request) -> web.Response:
        """The UWS job children: phase, executionduration, destruction, quote, owner, error, ..."""
        job = self._get_job(request)
        item = request.match_info["item"].lower()
        if request.method == "POST":
            form = await request.post()
            return await self._post_item(request, job, item, {k.upper(): str(v) for k, v in form.items()})
        if item == "phase":
            return web.Response(text=job.phase)
        if item == "executionduration":
            return web.Response(text=str(job.execution_duration))
        if item == "destruction":
            return web.Response(text=iso(job.destruction))
        if item == "quote":
            return web.Response(text="")
        if item == "owner":
            return web.Response(text=job.access.owner or "")
        if item == "error":
            if job.phase != "ERROR":
                raise web.HTTPNotFound(text="the job has no error")
            return web.Response(body=error_document(job.error or ""), content_type=VOTABLE_MIME)
        if item == "parameters":
            return _xml(f"<uws:parameters {UWS_NS}>{self._params_xml(job)}</uws:parameters>")
        if item == "results":
            return _xml(f"<uws:results {UWS_NS}>{self._results_xml(request, job)}</uws:results>")
        raise web.HTTPNotFound(text=f"jobs have no '{item}'")

    async def _post_item(self, request: web.Request, job: Job, item: str, form: dict[str, str]) -> web.Response:
        if item == "phase":
            phase = form.get("PHASE", "").upper()
            if phase == "RUN":
                if job.phase not in {"PENDING", "HELD"}:
                    return _error(f"the job is {job.phase}; only a PENDING job can be run", 400)
                self._start(job, self._base(request))
            elif phase == "ABORT":
                if job.task and not job.task.done():
                    job.task.cancel()
                elif job.phase in {"PENDING", "HELD", "QUEUED"}:
                    job.set_phase("ABORTED")
            else:
                return _error(f"PHASE={phase or '(missing)'}: use RUN or ABORT", 400)
        elif item == "executionduration":
            try:
                asked = max(0, int(float(form.get("EXECUTIONDURATION", ""))))
                hard = self.limits.execution_hard
                job.execution_duration = min(asked or hard, hard) if hard else asked  # the service caps it
            except ValueError:
                return _error("EXECUTIONDURATION must be a number of seconds", 400)
        elif item == "destruction":
            try:
                when = datetime.fromisoformat(form.get("DESTRUCTION", "").replace("Z", "+00:00"))
                job.destruction = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
            except ValueError:
                return _error("DESTRUCTION must be an ISO 8601 time", 400)
        elif item == "parameters":
            if job.phase != "PENDING":
                return _error("parameters can only change while the job is PENDING", 400)
            for key, value in form.items():
                job.params[key] = value
        else:
            return _error(f"'{item}' cannot be changed", 400)
        raise web.HTTPSeeOther(self._job_url(request, job))

    async def job_result(self, request: web.Request) -> web.Response:
        """``/async/{job}/results/result``: the VOTable of a COMPLETED job."""
        job = self._get_job(request)
        if job.phase != "COMPLETED" or job.result is None:
            raise web.HTTPNotFound(text=f"the job is {job.phase}; results exist only once it is COMPLETED")
        return web.Response(body=job.result, content_type=CSV_MIME if self._wants_csv(job.params) else VOTABLE_MIME)

    def _params_xml(self, job: Job) -> str:
        return "".join(
            f"<uws:parameter id={quoteattr(k.lower())}>{escape(str(v))}</uws:parameter>" for k, v in job.params.items()
        )

    def _results_xml(self, request: web.Request, job: Job) -> str:
        if job.phase != "COMPLETED":
            return ""
        href = quoteattr(self._job_url(request, job, "/results/result"))
        return f'<uws:result id="result" xlink:href={href}/>'

    def _job_xml(self, request: web.Request, job: Job) -> str:
        error = ""
        if job.phase == "ERROR":
            error = (
                f'<uws:errorSummary type="fatal" hasDetail="true"><uws:message>{escape(job.error or "")}'
                "</uws:message></uws:errorSummary>"
            )
        return (
            f'<uws:job {UWS_NS} version="1.1"><uws:jobId>{job.id}</uws:jobId>'
            f'<uws:runId xsi:nil="true"/>{owner_element(job.access.owner)}'
            f'<uws:phase>{job.phase}</uws:phase><uws:quote xsi:nil="true"/>'
            f"<uws:creationTime>{iso(job.created)}</uws:creationTime>"
            f"{time_element('startTime', job.started)}{time_element('endTime', job.ended)}"
            f"<uws:executionDuration>{job.execution_duration}</uws:executionDuration>"
            f"<uws:destruction>{iso(job.destruction)}</uws:destruction>"
            f"<uws:parameters>{self._params_xml(job)}</uws:parameters>"
            f"<uws:results>{self._results_xml(request, job)}</uws:results>{error}</uws:job>"
        )

    # ------------------------------------------------------------------------------ VOSI
    async def availability(self, request: web.Request) -> web.Response:
        """VOSI availability: always up while the sandbox runs."""
        return _xml(
            '<avl:availability xmlns:avl="http://www.ivoa.net/xml/VOSIAvailability/v1.0">'
            "<avl:available>true</avl:available><avl:note>vodaxa sandbox</avl:note></avl:availability>"
        )

    async def capabilities(self, request: web.Request) -> web.Response:
        """VOSI capabilities with TAPRegExt: ADQL, VOTable output, inline upload, limits."""
        base = f"{self._base(request)}{self.prefix}"

        def vosi(kind: str) -> str:
            return (
                f'<capability standardID="ivo://ivoa.net/std/VOSI#{kind}"><interface xsi:type="vs:ParamHTTP">'
                f'<accessURL use="full">{base}/{kind}</accessURL></interface></capability>'
            )

        return _xml(
            '<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" '
            'xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0" '
            'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            + vosi("availability")
            + vosi("capabilities")
            + vosi("tables")
            + '<capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">'
            '<interface role="std" xsi:type="vs:ParamHTTP">'
            f'<accessURL use="base">{base}</accessURL></interface>'
            '<language><name>ADQL</name><version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>'
            '<version ivo-id="ivo://ivoa.net/std/ADQL#v2.1">2.1</version>'
            "<description>The documented ADQL subset of vodaxa.sandbox</description>"
            '<languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adqlgeo">'
            + "".join(
                f"<feature><form>{f}</form></feature>"
                for f in ("POINT", "CIRCLE", "BOX", "POLYGON", "CONTAINS", "INTERSECTS", "DISTANCE")
            )
            + "</languageFeatures></language>"
            '<outputFormat ivo-id="ivo://ivoa.net/std/TAPRegExt#output-votable-td"><mime>'
            f"{VOTABLE_MIME}</mime><alias>votable</alias></outputFormat>"
            '<outputFormat ivo-id="ivo://ivoa.net/std/TAPRegExt#output-csv">'
            f"<mime>{CSV_MIME}</mime><alias>csv</alias></outputFormat>"
            '<uploadMethod ivo-id="ivo://ivoa.net/std/TAPRegExt#upload-inline"/>'
            f"<retentionPeriod><default>{round(self.limits.retention)}</default></retentionPeriod>"
            f"<executionDuration><default>{self.limits.execution_duration}</default>"
            f"<hard>{self.limits.execution_hard}</hard></executionDuration>"
            f'<outputLimit><default unit="row">{self.default_maxrec}</default>'
            f'<hard unit="row">{self.db.hard_limit}</hard></outputLimit>'
            f'<uploadLimit><hard unit="byte">{self.max_upload_bytes}</hard></uploadLimit>'
            "</capability></vosi:capabilities>"
        )

    async def tables(self, request: web.Request) -> web.Response:
        """VOSI tables: every published table with its columns' types, units and UCDs."""
        by_schema: dict[str, list[str]] = {}
        for table in self.db.tables.values():
            cols = "".join(
                f"<column><name>{escape(c.name)}</name><description>{escape(c.description)}</description>"
                + (f"<unit>{escape(c.unit)}</unit>" if c.unit else "")
                + (f"<ucd>{escape(c.ucd)}</ucd>" if c.ucd else "")
                + _datatype_xml(c.datatype)
                + "</column>"
                for c in table.columns
            )
            by_schema.setdefault(table.schema or "default", []).append(
                f'<table type="table"><name>{escape(table.qualified)}</name>'
                f"<description>{escape(table.description)}</description>{cols}</table>"
            )
        body = "".join(f"<schema><name>{escape(s)}</name>{''.join(t)}</schema>" for s, t in by_schema.items())
        return _xml(
            '<vtm:tableset xmlns:vtm="http://www.ivoa.net/xml/VOSITables/v1.0" '
            'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{body}</vtm:tableset>'
        )


def csv_document(result: QueryResult) -> bytes:
    """DALI CSV of a result: the column names, then the rows (NULL empty, times in ISO 8601, booleans true/false)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f.name for f in result.fields])

    def text(value: object) -> object:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, (bool, np.bool_)):
            return "true" if value else "false"
        return value.item() if isinstance(value, np.generic) else value

    for row in zip(*result.columns):
        writer.writerow([text(v) for v in row])
    return out.getvalue().encode()


def _rebase(result: QueryResult, placeholder: str, base: str) -> None:
    """Serve stored self-referencing URLs with this request's base URL (text columns, in place)."""
    for i, meta in enumerate(result.fields):
        if meta.datatype == "char":
            result.columns[i] = [
                v.replace(placeholder, base) if isinstance(v, str) and placeholder in v else v
                for v in result.columns[i]
            ]


def _xml(text: str) -> web.Response:
    return web.Response(text='<?xml version="1.0" encoding="UTF-8"?>\n' + text, content_type="text/xml")


def _error(message: str, status: int) -> web.Response:
    return web.Response(body=error_document(message), status=status, content_type=VOTABLE_MIME)


def _datatype_xml(datatype: str) -> str:
    """A VODataService dataType element; timestamps are char with extendedType timestamp."""
    if datatype == "timestamp":
        return '<dataType xsi:type="vs:VOTableType" arraysize="*" extendedType="timestamp">char</dataType>'
    size = _ARRAYSIZE if datatype == "char" else ""
    return f'<dataType xsi:type="vs:VOTableType"{size}>{datatype}</dataType>'
