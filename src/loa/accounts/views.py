"""Sign-in, sign-out, password change and two-factor enrolment and verification."""

from __future__ import annotations

import time
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from loa.accounts.forms import LoginForm, PasswordChangeForm, TokenForm
from loa.accounts.services import (
    check_code_already_used,
    do_change_password,
    do_confirm_totp,
    enrolment_device,
)
from loa.audit.log import record

OTP_SETUP_KEY = "loa_otp_setup_key"
# After a wrong code django-otp refuses every code for 1 s, 2 s, 4 s … (doubling per failure in a row). A wait this
# short is sat out for the user, so the right code typed just after a wrong one is accepted.
SHORT_THROTTLE_S = 2.0


def _throttled_for(device: Any) -> float:
    """Seconds until ``device`` checks codes again after wrong ones (0 when it does now)."""
    allowed, info = device.verify_is_allowed()
    if allowed or not info or info.get("reason") != VerifyNotAllowed.N_FAILED_ATTEMPTS:
        return 0.0
    return max(0.0, (info["locked_until"] - timezone.now()).total_seconds())


def _sit_out_short_throttle(devices: Any) -> float:
    """Wait out a short throttle; returns the seconds still to wait (0 when the next code will be checked)."""
    wait = max((_throttled_for(d) for d in devices), default=0.0)
    if 0 < wait <= SHORT_THROTTLE_S:
        time.sleep(wait)
        wait = max((_throttled_for(d) for d in devices), default=0.0)
    return wait


def _wrong_code_message(wait: float, used: bool = False) -> str:
    """Say what happened: a wrong code, a right code already used once, or one that came during the wait after
    wrong ones (not checked)."""
    if used:
        return _(
            "Mã này vừa được dùng để đăng nhập; mỗi mã chỉ dùng được một lần. Chờ ứng dụng xác thực hiện mã "
            "mới (mã đổi sau mỗi 30 giây) rồi nhập mã mới."
        )
    if wait > 0:
        return _(
            "Mã vừa nhập không được kiểm tra: sau nhiều lần nhập sai liền nhau, hệ thống chờ %(s)d giây "
            "trước khi nhận mã mới. Chờ rồi nhập mã đang hiện trên ứng dụng."
        ) % {"s": max(1, round(wait))}
    return _(
        "Mã không đúng. Nhập 6 số đang hiện trên ứng dụng xác thực (mã đổi sau mỗi 30 giây); "
        "nếu mã đúng mà vẫn bị từ chối, kiểm tra giờ trên điện thoại."
    )


def _next_url(request: HttpRequest, default: str = "console:dashboard") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    from django.urls import reverse

    return reverse(default)


def lockout_response(
    request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    form = LoginForm(request.POST or None)
    return render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "error": _(
                "Tài khoản tạm bị khóa vì đăng nhập sai nhiều lần. Vui lòng thử lại sau 15 phút "
                "hoặc liên hệ quản trị viên."
            ),
        },
        status=429,
    )


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_next_url(request))
    form = LoginForm(request.POST or None)
    error = ""
    if request.method == "POST":
        if form.is_valid():
            user = authenticate(
                request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
            )
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request)
            if user is not None:
                login(request, user)
                return redirect(_next_url(request))
        error = _("Tên đăng nhập hoặc mật khẩu không đúng.")
    status = 400 if error else 200
    return render(
        request,
        "accounts/login.html",
        {"form": form, "error": error, "next": _next_url(request)},
        status=status,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        record("auth.logout", request=request)
    logout(request)
    return redirect("accounts:login")


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        do_change_password(user, form.cleaned_data["new_password1"], request=request)
        update_session_auth_hash(request, user)
        messages.success(request, _("Đã đổi mật khẩu."))
        return redirect(_next_url(request))
    return render(
        request,
        "accounts/password_change.html",
        {"form": form, "next": _next_url(request)},
        status=400 if form.errors else 200,
    )


def _qr_svg(url: str) -> str:
    return segno.make(url, error="m").svg_inline(scale=5, dark="#111", light="#fff")


@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: show a QR code and the secret, confirm with one code."""
    user: Any = request.user
    if user_has_device(user) and not user.is_verified():
        return redirect("accounts:otp_verify")
    # Showing the page saves nothing (a GET changes no state): the key lives in the session until a code is sent.
    key = request.session.get(OTP_SETUP_KEY) or random_hex(20)
    request.session[OTP_SETUP_KEY] = key
    device = enrolment_device(user, key)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = _sit_out_short_throttle([device])
        codes = do_confirm_totp(device, form.cleaned_data["token"], request=request)
        if codes is not None:
            otp_login(request, device)
            request.session.pop(OTP_SETUP_KEY, None)
            return render(
                request, "accounts/recovery_codes.html", {"codes": codes, "next": _next_url(request)}
            )
        form.add_error("token", _wrong_code_message(wait))
    secret = device.bin_key.hex()
    import base64

    b32 = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(
        request,
        "accounts/otp_setup.html",
        {
            "form": form,
            "qr_svg": _qr_svg(device.config_url),
            "secret": b32,
            "hex_secret": secret,
            "next": _next_url(request),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user_has_device(user):
        return redirect("accounts:otp_setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        totp_devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
        wait = _sit_out_short_throttle(totp_devices)
        device = match_token(user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            record("auth.2fa_verified", request=request, data={"device": device.__class__.__name__})
            return redirect(_next_url(request))
        record("auth.2fa_failed", request=request)
        used = not wait and check_code_already_used(totp_devices, form.cleaned_data["token"])
        form.add_error("token", _wrong_code_message(wait, used))
    return render(
        request,
        "accounts/otp_verify.html",
        {"form": form, "next": _next_url(request)},
        status=400 if form.errors else 200,
    )
