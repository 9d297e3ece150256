"""The viewer's web app (Starlette): read-only routes over one dataset.

    app = create_app("data/naruto")              # a Starlette app; serve() runs it with uvicorn
    GET /                       records, paginated and filtered: ?q=&source=&images=&turns=&problems=yes|no
                                &over=yes|no&page=1&per=20
    GET /record/{pos}           one record (its permalink): full images, turns, problems, label mask
    GET /image/{pos}/{k}        the record's k-th image re-encoded: ?size=64|128|256|512 (default 256) or ?full=1
    GET /video/{pos}/{k}/{i}    frame i of the strip of the record's k-th video (0: the poster): ?size= as for images
    GET /summary                counts and plots: images per record, turns, token lengths, image sizes
    GET /api/records, /api/record/{pos}, /api/labels/{pos}, /api/status, /api/summary   the same as JSON
    GET /api/video/{pos}/{k}    the video's header and its strip frames' times
    GET /static/...             the page's own CSS and JS

Positions and image numbers come only from the URL's integers and index into the dataset the server was
started on; anything out of range is 404, and no route takes a file name, so nothing outside the
dataset is ever read on a request's behalf. Requests whose Host header is not the address the server
listens on are refused (a web page elsewhere cannot reach the server through DNS rebinding).
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from vlmdata.view.images import FULL_MAX_SIDE, THUMB_SIZES, ImageError, ThumbnailCache, render
from vlmdata.view.index import DatasetIndex
from vlmdata.view.pages import Query, card, summary, token_lengths
from vlmdata.view.source import ViewDataset
from vlmdata.view.videos import VideoStrips, VideoUnavailable

HERE = Path(__file__).parent
DEFAULT_THUMB = 256


def create_app(
    path,
    counter=None,
    allowed_hosts: list[str] | None = None,
    start_index: bool = True,
    index_delay: float = 0.0,
) -> Starlette:
    """The app over the dataset at `path`. counter: a vlmdata.view.tokens.TokenCounter (--model) or None.
    allowed_hosts: Host header values accepted (default: loopback names).
    index_delay: seconds the background index waits for the first page to be sent (the command: 3)."""
    ds = ViewDataset.open(path)
    index = DatasetIndex(ds, counter)
    if start_index:
        index.start(index_delay)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    thumbs = ThumbnailCache()
    strips = VideoStrips(ds)
    title = Path(path).name or str(path)

    def _pos(request: Request) -> int:
        pos = request.path_params["pos"]
        if not 0 <= pos < len(ds):
            raise HTTPException(404, f"no record {pos}: the dataset has {len(ds):,} records")
        return pos

    def _page(request: Request) -> dict:
        query = Query.parse(request.query_params, index)
        positions = index.select(**query.filters())
        pages = max(1, -(-len(positions) // query.per))
        if query.page > pages:
            raise HTTPException(404, f"no page {query.page}: {len(positions):,} records make {pages} page(s)")
        shown = positions[(query.page - 1) * query.per : query.page * query.per]
        entries = ds.entries(int(p) for p in shown)
        lengths, problems = token_lengths(entries, index), index.problems_for(entries)
        return {
            "query": query,
            "total": len(positions),
            "pages": pages,
            "cards": [card(e, index, lengths, problems) for e in entries],
            "status": index.status(),
        }

    def home(request: Request):
        ctx = _page(request)
        response = templates.TemplateResponse(
            request,
            "index.html",
            {**ctx, "title": title, "sources": [s for s in index.sources if s], "model": counter},
        )
        index.first_page.set()
        return response

    def api_records(request: Request):
        ctx = _page(request)
        return JSONResponse(
            {
                "total": ctx["total"],
                "page": ctx["query"].page,
                "pages": ctx["pages"],
                "records": ctx["cards"],
                "status": ctx["status"],
            }
        )

    def _labels(entry) -> dict:
        """The label mask, or {"error": ...}: the plugin's own failure is shown, not a traceback."""
        try:
            return counter.labels(entry.record)
        except Exception as exc:  # a plugin may raise anything for a record it cannot encode
            return {"error": f"no label mask for record {entry.pos}: {type(exc).__name__}: {exc}"}

    def record(request: Request):
        entry = ds.entry(_pos(request))
        c = card(entry, index)
        labels = _labels(ds.entry(entry.pos, images=True)) if counter and c["readable"] else None
        shown = {p["k"] for t in c["turns"] for p in t["parts"] if p["kind"] == "video"}
        return templates.TemplateResponse(
            request,
            "record.html",
            {"title": title, "c": c, "labels": labels, "status": index.status(), "model": counter,
             "videos": {k: _video_info(entry.pos, k) for k in sorted(shown)}},
        )  # fmt: skip

    def _video_info(pos: int, k: int) -> dict:
        try:
            return strips.info(pos, k)
        except VideoUnavailable as exc:
            return {"error": str(exc)}

    def api_video(request: Request):
        try:
            return JSONResponse(strips.info(_pos(request), request.path_params["k"]))
        except VideoUnavailable as exc:
            raise HTTPException(404, str(exc)) from None

    def video_frame(request: Request):
        pos, k, i = _pos(request), request.path_params["k"], request.path_params["i"]
        size = request.query_params.get("size", "128")
        if set(request.query_params) - {"size"} or size not in {str(s) for s in THUMB_SIZES}:
            raise HTTPException(400, f"size must be one of {', '.join(map(str, THUMB_SIZES))}, got {size!r}")
        try:
            data, media = strips.frame(pos, k, i, int(size))
        except VideoUnavailable as exc:
            raise HTTPException(404, str(exc)) from None
        return Response(data, media_type=media, headers={"Cache-Control": "max-age=3600"})

    def api_record(request: Request):
        return JSONResponse(card(ds.entry(_pos(request)), index))

    def api_labels(request: Request):
        pos = _pos(request)
        if counter is None:
            raise HTTPException(404, "label masks need --model")
        entry = ds.entry(pos, images=True)
        if entry.record is None:
            raise HTTPException(404, f"record {pos} cannot be read, so it has no label mask")
        labels = _labels(entry)
        return JSONResponse(labels, status_code=422 if "error" in labels else 200)

    def image(request: Request):
        pos, k = _pos(request), request.path_params["k"]
        params = request.query_params
        unknown = set(params) - {"size", "full"}
        if unknown:
            raise HTTPException(400, f"unknown parameter(s): {', '.join(sorted(unknown))}")
        full = params.get("full") in ("1", "true", "yes")
        size = params.get("size", str(DEFAULT_THUMB))
        if not full and size not in {str(s) for s in THUMB_SIZES}:
            raise HTTPException(400, f"size must be one of {', '.join(map(str, THUMB_SIZES))}, got {size!r}")
        side = FULL_MAX_SIDE if full else int(size)
        try:
            stored = ds.image(pos, k)
        except (KeyError, IndexError):
            raise HTTPException(404, f"record {pos} has no image {k}") from None
        try:
            data, media = thumbs.get((pos, k, side), lambda: render(stored, side))
        except (ImageError, OSError) as exc:
            raise HTTPException(404, f"record {pos} image {k} cannot be shown: {exc}") from None
        return Response(data, media_type=media, headers={"Cache-Control": "max-age=3600"})

    def summary_page(request: Request):
        return templates.TemplateResponse(
            request,
            "summary.html",
            {"title": title, "s": summary(index), "status": index.status(), "model": counter},
        )

    def api_summary(request: Request):
        return JSONResponse(summary(index, svg=False))

    def api_status(request: Request):
        return JSONResponse(index.status())

    async def http_error(request: Request, exc: HTTPException):
        if request.url.path.startswith(("/api/", "/image/", "/video/", "/static/")):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        return templates.TemplateResponse(
            request,
            "error.html",
            {"title": title, "code": exc.status_code, "detail": exc.detail, "model": counter},
            status_code=exc.status_code,
        )

    routes = [
        Route("/", home),
        Route("/record/{pos:int}", record),
        Route("/image/{pos:int}/{k:int}", image),
        Route("/video/{pos:int}/{k:int}/{i:int}", video_frame),
        Route("/api/video/{pos:int}/{k:int}", api_video),
        Route("/summary", summary_page),
        Route("/api/records", api_records),
        Route("/api/record/{pos:int}", api_record),
        Route("/api/labels/{pos:int}", api_labels),
        Route("/api/summary", api_summary),
        Route("/api/status", api_status),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    hosts = allowed_hosts or ["127.0.0.1", "localhost", "[::1]"]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)],
        exception_handlers={HTTPException: http_error},
    )
    app.state.dataset, app.state.index = ds, index
    return app


def serve(app: Starlette, host: str, port: int) -> None:
    """Run the app until Ctrl-C (uvicorn; one process, the app is read-only)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
