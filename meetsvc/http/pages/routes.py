"""The page routes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from meetsvc.http.appkeys import DEMO, EID
from meetsvc.http.pages import admin, deliveries, identify, lobby, oidc_sign_in, organise, participant, staff
from meetsvc.http.pages.context import current_session
from meetsvc.http.pages.i18n import request_language, translate
from meetsvc.http.pages.render import STATIC, render
from meetsvc.http.pages.staff import host_texts


async def start_page(request: web.Request) -> web.Response:
    eid = request.app[EID]
    context = {
        "simulator_app_url": eid.simulator_app_url,
        "outbox_url": "/dev/outbox" if deliveries.development_outbox_enabled(request) else None,
        # Only ever set in development (demo.seed is refused in production).
        "demo": request.app.get(DEMO),
    }
    return render(request, "start.html", context, language=request_language(request))


# Installed from the npm registry at set-up (make run / make test), never committed.
NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"
SOCKETIO_CLIENT = NODE_MODULES / "socket.io-client" / "dist" / "socket.io.min.js"
#: Draws the identification page's QR code in the browser from the string the server sends.
QR_GENERATOR = NODE_MODULES / "qrcode-generator" / "dist" / "qrcode.js"


def _vendor(path: Path) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(request: web.Request) -> web.StreamResponse:
        if not await asyncio.to_thread(path.exists):
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "max-age=86400", "Content-Type": "text/javascript"})

    return serve


VIDEO_TEXT_KEYS = (
    "video.mute",
    "video.unmute",
    "video.camera_off",
    "video.camera_on",
    "video.left",
    "video.revoked",
    "video.no_media",
    "video.muted",
    "video.camera_is_off",
    "video.speaking",
    "video.count",
    "video.pin",
    "video.unpin",
)


async def video_page(request: web.Request) -> web.Response:
    """The built-in backend's meeting page; the credential in its fragment opens the socket.

    It speaks the person's language: the one they chose, else their session's (a participant's
    invitation language), so someone invited in English is not met by a Swedish meeting."""
    session = await current_session(request)
    language = request_language(request, session.language if session is not None else None)
    # Signed-in staff get the waiting list as a drawer; it appears only if the credential is a
    # host's and the host socket accepts them (it checks the meeting's hosts, as the console does).
    staff = session is not None and session.signed_in_staff
    return render(
        request,
        "video.html",
        {
            "texts": {key: translate(language, key) for key in VIDEO_TEXT_KEYS},
            "host_panel": staff,
            "host_texts": host_texts(language) if staff else {},
            "meeting_id": None,
            "in_video": True,
        },
        language=language,
    )


async def favicon(request: web.Request) -> web.StreamResponse:
    """Browsers ask for /favicon.ico whatever the page links; answer with our icon, not a 404."""
    return web.FileResponse(
        STATIC / "favicon.svg", headers={"Cache-Control": "max-age=86400", "Content-Type": "image/svg+xml"}
    )


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/favicon.ico", favicon, name="favicon")
    app.router.add_get("/", start_page, name="start")
    app.router.add_get("/language", participant.choose_language, name="language")
    app.router.add_get("/j/{token}", participant.link_page, name="invitation-link")
    app.router.add_post("/j/{token}", participant.open_link, name="invitation-open")
    app.router.add_get("/m", participant.invitation_page, name="invitation")
    app.router.add_post("/identify", identify.start, name="identify-start")
    app.router.add_get("/identify", identify.page, name="identify")
    app.router.add_get("/identify/status", identify.status, name="identify-status")
    app.router.add_get("/identify/qr.svg", identify.qr_image, name="identify-qr")
    app.router.add_post("/identify/cancel", identify.cancel, name="identify-cancel")
    app.router.add_get("/staff/login", staff.login_page, name="staff-login")
    app.router.add_get("/staff/oidc/callback", oidc_sign_in.callback, name="staff-oidc-callback")
    app.router.add_post("/staff/oidc/{provider}", oidc_sign_in.start, name="staff-oidc-start")
    app.router.add_get("/staff", staff.home, name="staff-home")
    app.router.add_post("/staff/logout", staff.logout, name="staff-logout")
    app.router.add_get("/lobby", participant.lobby_page, name="lobby")
    app.router.add_post("/lobby/ticket", lobby.issue_ticket, name="lobby-ticket")
    app.router.add_get("/staff/admin", admin.admin_page, name="staff-admin")
    app.router.add_post("/staff/admin/staff", admin.add_staff, name="staff-admin-add")
    app.router.add_post("/staff/admin/staff/{staff_id}", admin.change_staff, name="staff-admin-change")
    app.router.add_post(
        "/staff/admin/staff/{staff_id}/deactivate", admin.deactivate_staff, name="staff-admin-deactivate"
    )
    app.router.add_post(
        "/staff/admin/api-clients/{client_id}/revoke", admin.revoke_client, name="staff-admin-revoke-client"
    )
    app.router.add_get("/staff/meetings/new", organise.new_meeting_form, name="meeting-new")
    app.router.add_post("/staff/meetings/new", organise.create_meeting, name="meeting-create")
    app.router.add_get("/staff/meetings/{meeting_id}", staff.host_console, name="host-console")
    app.router.add_get("/staff/meetings/{meeting_id}/organise", organise.organise_page, name="meeting-organise")
    app.router.add_post(
        "/staff/meetings/{meeting_id}/participants", organise.add_participant, name="meeting-add-participant"
    )
    app.router.add_post(
        "/staff/meetings/{meeting_id}/participants/{participant_id}/reissue", organise.reissue, name="meeting-reissue"
    )
    app.router.add_post(
        "/staff/meetings/{meeting_id}/participants/{participant_id}/remove", organise.remove, name="meeting-remove"
    )
    app.router.add_post("/staff/meetings/{meeting_id}/cancel", organise.cancel, name="meeting-cancel")
    app.router.add_post("/staff/meetings/{meeting_id}/edit", organise.edit_meeting, name="meeting-edit")
    app.router.add_get("/video/{room}", video_page, name="video")
    app.router.add_get("/dev/outbox", deliveries.outbox_page, name="dev-outbox")
    app.router.add_get("/static/vendor/socket.io.min.js", _vendor(SOCKETIO_CLIENT), name="vendor-socketio")
    app.router.add_get("/static/vendor/qrcode.js", _vendor(QR_GENERATOR), name="vendor-qrcode")
    app.router.add_get("/.well-known/jwks.json", lobby.jwks, name="jwks")
    app.router.add_static("/static", STATIC, name="static", append_version=False)
