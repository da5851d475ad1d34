"""The case handlers' web app and REST API (FastAPI): sign in, my queue, the case page with its evidence,
claim / release / reroute / change urgency / resolve, the manual-triage view and search.

Server-rendered pages (Jinja2) and the JSON API under /api share one session cookie and one rule book
(pipeline.casework), so a page cannot show what the API would refuse. OpenAPI is served at /openapi.json."""


from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from pipeline.casework import (
    RESOLUTION_CODES,
    AuditEntry,
    CaseDetail,
    CaseNotFound,
    CaseSummary,
    CaseWork,
    CaseworkError,
    Conflict,
    Forbidden,
    InvalidChange,
    QueueSummary,
    Viewer,
    work_engine,
)
from pipeline.config import TenantConfig
from pipeline.language import language_name
from pipeline.store import migrate
from pipeline.users import User, UserDirectory

SESSION_COOKIE = "triage_session"
TEMPLATES = Path(__file__).parent / "templates"
_STATUS = {CaseNotFound: 404, Forbidden: 403, Conflict: 409, InvalidChange: 422}

# (channel, redacted subject, redacted body, topic) -> {"method", "model_version", "terms": [[word, weight]...]} or
# None. It reads the redacted text only, as the model did.
Explainer = Callable[[str, str | None, str, str], dict[str, Any] | None]


@dataclass
class WebConfig:
    store_url: str
    tenant: TenantConfig
    topic_names: dict[str, str] = field(default_factory=dict)
    session_hours: float = 8.0
    secure_cookies: bool = False
    explainer: Explainer | None = None


class LoginRequired(Exception):  # noqa: N818 - a control-flow signal, not an error
    pass


class SignIn(BaseModel):
    username: str
    password: str


class Reroute(BaseModel):
    queue: str | None = Field(default=None, description="Target queue; or give a topic and its queue follows.")
    topic: str | None = None
    note: str | None = None


class UrgencyChange(BaseModel):
    urgency: str
    note: str | None = None


class Resolution(BaseModel):
    resolution: str = Field(description=f"One of {', '.join(RESOLUTION_CODES)}.")
    note: str | None = None


class Me(BaseModel):
    username: str
    display_name: str
    department: str
    role: str
    queues: list[str]


class CaseWithEvidence(CaseDetail):
    evidence: dict[str, Any] | None = None


def create_app(config: WebConfig) -> FastAPI:
    migrate(config.store_url)
    engine = work_engine(config.store_url)
    work = CaseWork(engine, config.tenant)
    users = UserDirectory(engine, config.tenant)
    tenant = config.tenant
    templates = Jinja2Templates(directory=str(TEMPLATES))
    ttl = timedelta(hours=config.session_hours)

    def local(value: datetime | None) -> str:
        return tenant.local_time(value).strftime("%Y-%m-%d %H:%M") if value else "–"

    def overdue(value: datetime | None) -> bool:
        return value is not None and value < datetime.now(UTC)

    templates.env.filters["local"] = local
    templates.env.filters["overdue"] = overdue
    templates.env.filters["language_name"] = language_name
    templates.env.globals.update(tenant=tenant, topic_names=config.topic_names, resolutions=RESOLUTION_CODES)

    app = FastAPI(title=f"kommun-triage – {tenant.name}", version="1",
                  description="Case handlers' queues: claim, reroute, change urgency and resolve triaged inquiries.")
    app.state.engine = engine

    # --- sessions ----------------------------------------------------------------------------------------------

    def optional_user(request: Request) -> User | None:
        return users.session_user(request.cookies.get(SESSION_COOKIE))

    def api_viewer(user: Annotated[User | None, Depends(optional_user)]) -> Viewer:
        if user is None:
            raise HTTPException(401, "sign in first (POST /api/session)")
        return work.viewer(user)

    def page_viewer(user: Annotated[User | None, Depends(optional_user)]) -> Viewer:
        if user is None:
            raise LoginRequired
        return work.viewer(user)

    def set_session(response: Response, username: str) -> None:
        response.set_cookie(SESSION_COOKIE, users.start_session(username, ttl), max_age=max(1, round(ttl.total_seconds())),
                            httponly=True, samesite="strict", secure=config.secure_cookies)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(CaseworkError)
    async def _casework_error(request: Request, exc: CaseworkError) -> Response:
        status = _STATUS.get(type(exc), 400)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=status)
        return templates.TemplateResponse(request, "error.html", {"message": str(exc), "status": status, "user": None},
                                          status_code=status)

    ApiViewer = Annotated[Viewer, Depends(api_viewer)]
    PageViewer = Annotated[Viewer, Depends(page_viewer)]

    def with_evidence(case: CaseDetail) -> CaseWithEvidence:
        evidence = None
        if config.explainer is not None and case.topic:
            channel, subject, body = work.redacted_text(case.id)
            evidence = config.explainer(channel, subject, body, case.topic)
        return CaseWithEvidence(**case.model_dump(), evidence=evidence)

    # --- REST API ----------------------------------------------------------------------------------------------

    @app.post("/api/session", response_model=Me, tags=["session"])
    def api_sign_in(body: SignIn, response: Response) -> Me:
        user = users.authenticate(body.username, body.password)
        if user is None:
            raise HTTPException(401, "unknown user or wrong password")
        set_session(response, user.username)
        return me(work.viewer(user))

    @app.delete("/api/session", status_code=204, tags=["session"])
    def api_sign_out(request: Request, response: Response) -> None:
        if token := request.cookies.get(SESSION_COOKIE):
            users.end_session(token)
        response.delete_cookie(SESSION_COOKIE)

    def me(viewer: Viewer) -> Me:
        user = viewer.user
        return Me(username=user.username, display_name=user.display_name, department=user.department,
                  role=user.role.value, queues=sorted(viewer.queues))

    @app.get("/api/me", response_model=Me, tags=["session"])
    def api_me(viewer: ApiViewer) -> Me:
        return me(viewer)

    @app.get("/api/queues", response_model=list[QueueSummary], tags=["queues"])
    def api_queues(viewer: ApiViewer) -> list[QueueSummary]:
        """Open cases per queue, counting only the cases you may see."""
        return work.queue_summaries(viewer)

    @app.get("/api/my-queue", response_model=list[CaseSummary], tags=["queues"])
    def api_my_queue(viewer: ApiViewer, limit: int = 100) -> list[CaseSummary]:
        """Open cases of your department, by priority, then SLA deadline."""
        return work.my_queue(viewer, limit)

    @app.get("/api/queues/{queue}/cases", response_model=list[CaseSummary], tags=["queues"])
    def api_queue_cases(queue: str, viewer: ApiViewer, limit: int = 100) -> list[CaseSummary]:
        return work.list_queue(viewer, queue, limit)

    @app.post("/api/queues/{queue}/claim-next", response_model=CaseDetail, tags=["queues"],
              responses={204: {"description": "The queue has no unclaimed case."}})
    def api_claim_next(queue: str, viewer: ApiViewer) -> Any:
        case = work.claim_next(viewer, queue)
        return Response(status_code=204) if case is None else case

    @app.get("/api/search", response_model=list[CaseSummary], tags=["queues"])
    def api_search(q: str, viewer: ApiViewer, limit: int = 50) -> list[CaseSummary]:
        return work.search(viewer, q, limit)

    @app.get("/api/cases/{case_id}", response_model=CaseWithEvidence, tags=["cases"])
    def api_case(case_id: str, viewer: ApiViewer) -> CaseWithEvidence:
        return with_evidence(work.get(viewer, case_id))

    @app.get("/api/cases/{case_id}/audit", response_model=list[AuditEntry], tags=["cases"])
    def api_audit(case_id: str, viewer: ApiViewer) -> list[AuditEntry]:
        return work.audit_trail(viewer, case_id)

    @app.post("/api/cases/{case_id}/claim", response_model=CaseDetail, tags=["cases"])
    def api_claim(case_id: str, viewer: ApiViewer) -> CaseDetail:
        return work.claim(viewer, case_id)

    @app.post("/api/cases/{case_id}/release", response_model=CaseDetail, tags=["cases"])
    def api_release(case_id: str, viewer: ApiViewer) -> CaseDetail:
        return work.release(viewer, case_id)

    @app.post("/api/cases/{case_id}/reroute", response_model=CaseDetail | None, tags=["cases"])
    def api_reroute(case_id: str, body: Reroute, viewer: ApiViewer) -> CaseDetail | None:
        """Returns the case, or null when it has left your sight (a restricted case sent to another department)."""
        return work.reroute(viewer, case_id, queue=body.queue, topic=body.topic, note=body.note)

    @app.post("/api/cases/{case_id}/urgency", response_model=CaseDetail, tags=["cases"])
    def api_urgency(case_id: str, body: UrgencyChange, viewer: ApiViewer) -> CaseDetail:
        return work.change_urgency(viewer, case_id, body.urgency, body.note)

    @app.post("/api/cases/{case_id}/resolve", response_model=CaseDetail, tags=["cases"])
    def api_resolve(case_id: str, body: Resolution, viewer: ApiViewer) -> CaseDetail:
        return work.resolve(viewer, case_id, body.resolution, body.note)

    # --- pages -------------------------------------------------------------------------------------------------

    def page(request: Request, name: str, viewer: Viewer | None, status_code: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"user": viewer.user if viewer else None, "viewer": viewer,
                                                          **context}, status_code=status_code)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002 - the usual name
        return page(request, "login.html", None, next=next, error=None)

    @app.post("/login", include_in_schema=False)
    def login(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()],
              next: Annotated[str, Form()] = "/") -> Response:  # noqa: A002
        user = users.authenticate(username.strip(), password)
        if user is None:
            return page(request, "login.html", None, 401, next=next, error="Okänt användarnamn eller fel lösenord.")
        # Only local paths: an attacker's link must not turn sign-in into a redirect elsewhere.
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        response = RedirectResponse(target, status_code=303)
        set_session(response, user.username)
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        if token := request.cookies.get(SESSION_COOKIE):
            users.end_session(token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def my_queue_page(request: Request, viewer: PageViewer, queue: str | None = None, msg: str | None = None) -> HTMLResponse:
        cases = work.list_queue(viewer, queue) if queue else work.my_queue(viewer)
        return page(request, "queue.html", viewer, cases=cases, queue=queue, summaries=work.queue_summaries(viewer), msg=msg)

    @app.get("/triage", response_class=HTMLResponse, include_in_schema=False)
    def triage_page(request: Request, viewer: PageViewer) -> HTMLResponse:
        cases = work.list_queue(viewer, tenant.review_queue)
        return page(request, "triage.html", viewer, cases=cases, can_work=tenant.review_queue in viewer.queues)

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, viewer: PageViewer, q: str = "") -> HTMLResponse:
        return page(request, "search.html", viewer, q=q, cases=work.search(viewer, q) if q.strip() else [])

    @app.get("/cases/{case_id}", response_class=HTMLResponse, include_in_schema=False)
    def case_page(request: Request, case_id: str, viewer: PageViewer, msg: str | None = None) -> HTMLResponse:
        case = with_evidence(work.get(viewer, case_id))
        return page(request, "case.html", viewer, case=case, audit=work.audit_trail(viewer, case_id), msg=msg)

    def back(case_id: str, message: str) -> RedirectResponse:
        return RedirectResponse(f"/cases/{case_id}?msg={quote(message)}", status_code=303)

    @app.post("/queues/{queue}/claim-next", include_in_schema=False)
    def claim_next_form(queue: str, viewer: PageViewer) -> RedirectResponse:
        case = work.claim_next(viewer, queue)
        if case is None:
            return RedirectResponse(f"/?msg={quote(f'Inga oklaimade ärenden i {queue}.')}", status_code=303)
        return back(case.id, "Du har tagit ärendet.")

    @app.post("/cases/{case_id}/claim", include_in_schema=False)
    def claim_form(case_id: str, viewer: PageViewer) -> RedirectResponse:
        work.claim(viewer, case_id)
        return back(case_id, "Du har tagit ärendet.")

    @app.post("/cases/{case_id}/release", include_in_schema=False)
    def release_form(case_id: str, viewer: PageViewer) -> RedirectResponse:
        work.release(viewer, case_id)
        return back(case_id, "Ärendet är släppt tillbaka till kön.")

    @app.post("/cases/{case_id}/reroute", include_in_schema=False)
    def reroute_form(case_id: str, viewer: PageViewer, queue: Annotated[str, Form()] = "",
                     topic: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> RedirectResponse:
        case = work.reroute(viewer, case_id, queue=queue or None, topic=topic or None, note=note or None)
        if case is None:
            return RedirectResponse(f"/?msg={quote('Ärendet är skickat till en annan förvaltning.')}", status_code=303)
        return back(case_id, f"Ärendet ligger nu i {case.queue}.")

    @app.post("/cases/{case_id}/urgency", include_in_schema=False)
    def urgency_form(case_id: str, viewer: PageViewer, urgency: Annotated[str, Form()],
                     note: Annotated[str, Form()] = "") -> RedirectResponse:
        work.change_urgency(viewer, case_id, urgency, note or None)
        return back(case_id, f"Brådska ändrad till {urgency}.")

    @app.post("/cases/{case_id}/resolve", include_in_schema=False)
    def resolve_form(case_id: str, viewer: PageViewer, resolution: Annotated[str, Form()],
                     note: Annotated[str, Form()] = "") -> RedirectResponse:
        work.resolve(viewer, case_id, resolution, note or None)
        return back(case_id, f"Ärendet är avslutat ({resolution}).")

    return app
