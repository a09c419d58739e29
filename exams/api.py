"""The HTTP API (DESIGN.md "HTTP API"). Views are thin: check who is asking, validate the input
with a serializer, call one service, shape the answer. Errors are ``{"error": "..."}``.

Status codes: 401 without credentials; 403 when the user may not do this to an exam they can
name (exam codes are not secret: students submit to them); 404 for a submission the user may
not see (its existence is private) and for unknown exams.
"""
from __future__ import annotations

import json
import os

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView, exception_handler

from exams import auth, roles, serializers as ser, services
from exams.models import Exam, Submission
from exams.permissions import IsExamInstructor, IsExamStaff, IsInstructorUser, IsStudentUser
from exams.results import results_csv
from exams.review import ReviewError, exam_regrade_all
from exams.stats import question_stats
from rubrics.definition import DefinitionError, parse_definition_text

ERROR = {400: ser.ErrorSerializer, 401: ser.ErrorSerializer, 403: ser.ErrorSerializer,
         404: ser.ErrorSerializer}


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The upload is too large."


def api_exception_handler(exc, context):
    """DRF's handler, reshaped to ``{"error": message}`` (+ ``fields`` for form errors)."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        response.data = {"error": str(data["detail"])}
    elif isinstance(data, (dict, list)):
        response.data = {"error": _first_message(data), "fields": data}
    return response


def _first_message(data) -> str:
    if isinstance(data, dict):
        for key, value in data.items():
            message = _first_message(value)
            return message if key == "non_field_errors" else f"{key}: {message}"
    if isinstance(data, list) and data:
        return _first_message(data[0])
    return str(data)


class SubmissionUploadThrottle(ScopedRateThrottle):
    """Per-user rate for uploads, read at request time from settings (then env) so deployments
    and tests can change it: SUBMISSION_UPLOAD_RATE, e.g. "30/min"."""

    def get_rate(self):
        rates = getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_THROTTLE_RATES", {})
        return (rates.get(self.scope) or getattr(settings, "SUBMISSION_UPLOAD_RATE", None)
                or os.environ.get("SUBMISSION_UPLOAD_RATE") or "30/min")


class BaseApi(APIView):
    # Token first: its WWW-Authenticate header is what makes DRF answer 401 (not 403) to a
    # request without credentials.
    authentication_classes = [auth.ExpiringTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    # Set on upload views: refuse an oversized body from its Content-Length before anything
    # (authentication included: session auth's CSRF check may parse the body) reads it.
    limits_upload = False

    def get_exception_handler(self):
        return api_exception_handler

    def initial(self, request, *args, **kwargs):
        if self.limits_upload and request.method == "POST":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            # A little slack over the file limit for the multipart envelope and form fields.
            if length > ser.max_upload_bytes() + 64 * 1024:
                raise PayloadTooLarge(ser.too_large_message())
        super().initial(request, *args, **kwargs)

    def exam_for(self, code: str) -> Exam:
        exam = get_object_or_404(Exam, code=code)
        self.check_object_permissions(self.request, exam)
        return exam


class ExamCreateApi(BaseApi):
    permission_classes = [IsAuthenticated, IsInstructorUser]
    parser_classes = [MultiPartParser, FormParser]
    limits_upload = True

    @extend_schema(request={"multipart/form-data": ser.ExamUploadSerializer},
                   responses={201: ser.ExamLoadedSerializer, 200: ser.ExamLoadedSerializer,
                              413: ser.ErrorSerializer, **ERROR},
                   summary="Upload an exam definition (instructor); re-uploading updates it")
    def post(self, request):
        data = ser.ExamUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        text, blank = data.validated_data["definition"], data.validated_data.get("blank_pdf")
        try:
            defn = parse_definition_text(text)
        except DefinitionError as exc:
            return Response({"error": str(exc)}, status=400)
        if defn.blank_pdf and blank is None:
            # Never resolve a path from an uploaded file on the server's disk.
            return Response({"error": f"the definition names blank_pdf '{defn.blank_pdf}': "
                                      "upload that file as blank_pdf"}, status=400)
        existing = Exam.objects.filter(code=defn.code).first()
        if existing and not roles.has_exam_role(request.user, existing, (roles.INSTRUCTOR,)):
            raise exceptions.PermissionDenied(
                f"exam {defn.code} exists and you are not its instructor")
        try:
            with transaction.atomic():
                exam, _ = services.exam_load(text=text, blank_pdf=blank, user=request.user.username,
                                             accept_mismatch=tuple(data.validated_data["accept_key"]))
                if existing is None:
                    roles.role_assign(exam=exam, user=request.user, role=roles.INSTRUCTOR)
        except DefinitionError as exc:
            return Response({"error": str(exc)}, status=400)
        body = {"code": exam.code, "title": exam.title, "published": exam.published,
                "created": existing is None, "key_report": exam.key_report}
        return Response(body, status=201 if existing is None else 200)


class ExamDetailApi(BaseApi):
    permission_classes = [IsAuthenticated, IsExamStaff]

    @extend_schema(responses={200: ser.ExamSerializer, **ERROR}, summary="Exam, questions, key report")
    def get(self, request, code):
        return Response(ser.ExamSerializer(self.exam_for(code)).data)


class ExamSubmissionsApi(BaseApi):
    """POST: a student uploads. GET: staff list all; a student lists their own."""

    parser_classes = [MultiPartParser, FormParser]
    limits_upload = True
    throttle_scope = "submissions"

    def get_throttles(self):
        return [SubmissionUploadThrottle()] if self.request.method == "POST" else []

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), IsStudentUser()]
        return [IsAuthenticated()]

    def throttled(self, request, wait):
        raise exceptions.Throttled(wait, detail="Too many uploads in a short time.")

    @extend_schema(request={"multipart/form-data": ser.SubmissionUploadSerializer},
                   responses={202: ser.SubmissionAcceptedSerializer, 409: ser.ErrorSerializer,
                              413: ser.ErrorSerializer, 429: ser.ErrorSerializer, **ERROR},
                   summary="Submit a PDF (student); grading runs in the background")
    def post(self, request, code):
        exam = get_object_or_404(Exam, code=code)
        if not exam.published:
            return Response({"error": "This exam is not open for submissions yet."}, status=409)
        data = ser.SubmissionUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["pdf"]
        submission = services.submission_create(
            exam=exam, student=request.user.get_username(), content=upload.read(),
            filename=upload.name, user=request.user)
        submission.refresh_from_db()  # in-process grading may already have run on commit
        return Response({"id": submission.pk, "status": submission.status,
                         "url": f"/api/submissions/{submission.pk}/"}, status=202)

    @extend_schema(responses={200: ser.SubmissionListSerializer(many=True), **ERROR},
                   summary="Submissions of the exam (staff: all; student: their own)")
    def get(self, request, code):
        exam = get_object_or_404(Exam, code=code)
        if roles.has_exam_role(request.user, exam):
            qs, show = exam.submissions.all(), True
        elif roles.is_student(request.user):
            qs, show = exam.submissions.filter(user=request.user), exam.results_released
        else:
            raise exceptions.PermissionDenied("You are not staff of this exam.")
        return Response(ser.SubmissionListSerializer(
            qs.order_by("student", "id"), many=True, context={"show_results": show}).data)


class SubmissionDetailApi(BaseApi):
    @extend_schema(responses={200: ser.SubmissionSerializer, **ERROR},
                   summary="Status, progress and (once released, for students) results")
    def get(self, request, pk):
        submission = Submission.objects.select_related("exam").filter(pk=pk).first()
        if submission is None or not roles.submission_visible_to(request.user, submission):
            raise exceptions.NotFound("No such submission.")
        show = roles.has_exam_role(request.user, submission.exam) or submission.exam.results_released
        return Response(ser.SubmissionSerializer(submission, context={"show_results": show}).data)


class CsvRenderer(BaseRenderer):
    """Lets clients ask for ``Accept: text/csv`` (else DRF answers 406 before the view runs).
    The CSV itself is returned as a plain HttpResponse; this only renders error bodies."""

    media_type, format, charset = "text/csv", "csv", "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if not isinstance(data, (str, bytes)) else data


class ResultsCsvApi(BaseApi):
    permission_classes = [IsAuthenticated, IsExamStaff]
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR, **ERROR},
                   summary="One row per submission, one column per question (staff)")
    def get(self, request, code):
        exam = self.exam_for(code)
        response = HttpResponse(results_csv(exam), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{exam.code}-results.csv"'
        return response


class ExamReleaseApi(BaseApi):
    permission_classes = [IsAuthenticated, IsExamInstructor]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(request=ser.ReleaseSerializer,
                   responses={200: ser.ReleaseSerializer, **ERROR},
                   summary="Release (or withdraw) results to students (instructor)")
    def post(self, request, code):
        exam = self.exam_for(code)
        data = ser.ReleaseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        Exam.objects.filter(pk=exam.pk).update(results_released=data.validated_data["released"])
        return Response({"released": data.validated_data["released"]})


class ExamRegradeApi(BaseApi):
    permission_classes = [IsAuthenticated, IsExamInstructor]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(request=ser.RegradeSerializer,
                   responses={202: OpenApiResponse(OpenApiTypes.OBJECT,
                                                   description="What was queued and what changed"),
                              **ERROR},
                   summary="Regrade every submission after the key or points changed (instructor)")
    def post(self, request, code):
        exam = self.exam_for(code)
        data = ser.RegradeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            report = exam_regrade_all(exam=exam,
                                      keep_overrides=data.validated_data["keep_overrides"])
        except ReviewError as exc:
            return Response({"error": " ".join(exc.messages)}, status=409)
        return Response(report.as_dict(), status=202)


class ExamStatsApi(BaseApi):
    permission_classes = [IsAuthenticated, IsExamStaff]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERROR},
                   summary="Per-question statistics (staff)")
    def get(self, request, code):
        exam = self.exam_for(code)
        return Response({"exam": exam.code,
                         "questions": [s.as_dict() for s in question_stats(exam)]})


class ApiDocsView(APIView):
    """A docs page that works offline: the endpoint list is rendered on the server from the
    schema; Swagger UI replaces it once its script loads. The script and styles are this
    server's static files from the pinned drf-spectacular-sidecar package, so the page needs
    no internet and cannot change under the admin's origin."""

    permission_classes = [AllowAny]
    schema = None  # not part of the API it documents

    def get(self, request):
        from django.templatetags.static import static
        from drf_spectacular.generators import SchemaGenerator

        schema = SchemaGenerator().get_schema(request=None, public=True)
        endpoints = [
            {"method": method.upper(), "path": path, "summary": op.get("summary", ""),
             "description": op.get("description", "")}
            for path, ops in schema.get("paths", {}).items()
            for method, op in ops.items() if isinstance(op, dict)]
        html = render_to_string("admin/exams/api_docs.html", {
            "title": schema["info"]["title"], "version": schema["info"]["version"],
            "endpoints": endpoints, "schema_url": reverse("api-schema"),
            "swagger_dist": static("drf_spectacular_sidecar/swagger-ui-dist")}, request=request)
        return HttpResponse(html)


class _Credentials(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenApi(APIView):
    """POST username and password: the account's API token (a new one when it had expired)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes: list = []

    @extend_schema(request=_Credentials, summary="Get an API token (expires after API_TOKEN_TTL_HOURS)",
                   responses={200: inline_serializer("Token", {"token": serializers.CharField(),
                                                               "expires": serializers.DateTimeField()}),
                              400: None, 429: None}, tags=["auth"])
    def post(self, request):
        credentials = _Credentials(data=request.data)
        credentials.is_valid(raise_exception=True)
        # The Django request, not DRF's wrapper: django-axes marks a lockout on it, and its
        # middleware turns that into the 429 response.
        user = authenticate(request._request, **credentials.validated_data)
        if user is None or not user.is_active:
            raise exceptions.ValidationError({"non_field_errors": ["Unable to log in with provided credentials."]})
        token = auth.token_issue(user=user)
        return Response({"token": token.key, "expires": token.created + auth.token_ttl()})
