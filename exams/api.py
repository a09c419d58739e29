"""The HTTP API (DESIGN.md "HTTP API"). Views are thin: check who is asking, validate the input
with a serializer, call one service, shape the answer. Errors are ``{"error": "..."}``.

Status codes: 401 without credentials; 403 when the user may not do this to an exam they can
name (exam codes are not secret: students submit to them); 404 for a submission the user may
not see (its existence is private) and for unknown exams.
"""
from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView, exception_handler

from exams import auth, courses, policies, regrades, roles, serializers as ser, services
from exams.feedback import answer_pages
from exams.images import crop_or_page, png_response
from exams.models import Exam, ExamRole, RegradeRequest, Submission
from exams.permissions import IsExamInstructor, IsExamStaff, IsInstructorUser
from exams.results import GRADEBOOKS, gradebook_csv, results_csv
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
    """Per-user rate for uploads, read at request time from the settings (which read the
    environment variable SUBMISSION_UPLOAD_RATE, e.g. "30/min"), so tests can change it."""

    def get_rate(self):
        return settings.SUBMISSION_UPLOAD_RATE


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


class ExamListCreateApi(BaseApi):
    """GET: the exams the user may see. POST: an instructor uploads an exam."""

    parser_classes = [MultiPartParser, FormParser]
    limits_upload = True

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), IsInstructorUser()]
        return [IsAuthenticated()]

    @extend_schema(responses={200: ser.ExamListSerializer(many=True), **ERROR},
                   summary="The exams you may see (students: enrolled in or submitted to; "
                           "staff: those you teach)")
    def get(self, request):
        exams = courses.exams_visible_to(request.user)
        mine: dict[int, set[str]] = {}
        for exam_id, role in ExamRole.objects.filter(user=request.user).values_list("exam_id", "role"):
            mine.setdefault(exam_id, set()).add(role)
        if request.user.is_superuser:
            mine = {e.pk: {roles.INSTRUCTOR} for e in exams}
        return Response(ser.ExamListSerializer(exams.prefetch_related("questions"), many=True,
                                               context={"roles": mine}).data)

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
        try:
            loaded = services.exam_upsert(
                text=text, blank_pdf=blank, user=request.user.username, instructor=request.user,
                accept_mismatch=tuple(data.validated_data["accept_key"]))
        except services.NotExamInstructor as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        except DefinitionError as exc:
            return Response({"error": str(exc)}, status=400)
        exam = loaded.exam
        body = {"code": exam.code, "title": exam.title, "published": exam.published,
                "created": loaded.created, "key_report": exam.key_report,
                "changes": loaded.changes.as_dict()}
        return Response(body, status=201 if loaded.created else 200)


class ExamDetailApi(BaseApi):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_permissions(self):
        if self.request.method == "PATCH":
            return [IsAuthenticated(), IsExamInstructor()]
        return [IsAuthenticated(), IsExamStaff()]

    @extend_schema(responses={200: ser.ExamSerializer, **ERROR}, summary="Exam, questions, key report")
    def get(self, request, code):
        return Response(ser.ExamSerializer(self.exam_for(code)).data)

    @extend_schema(request=ser.ExamPoliciesSerializer,
                   responses={200: ser.ExamListSerializer, **ERROR},
                   summary="Change the exam's policies: submission window, resubmission, which "
                           "submission counts, regrade-request deadline (instructor)")
    def patch(self, request, code):
        exam = self.exam_for(code)
        data = ser.ExamPoliciesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            exam = policies.exam_policies_set(exam=exam, **data.validated_data)
        except policies.PolicyError as exc:
            return Response({"error": str(exc)}, status=400)
        return Response(ser.ExamListSerializer(exam, context={"roles": {exam.pk: {roles.INSTRUCTOR}}}).data)


class ExamSubmissionsApi(BaseApi):
    """POST: a student uploads their own; staff of the exam upload on a student's behalf
    (``student``: their id on the roster). GET: staff list all; a student lists their own."""

    parser_classes = [MultiPartParser, FormParser]
    limits_upload = True
    throttle_scope = "submissions"

    def get_throttles(self):
        return [SubmissionUploadThrottle()] if self.request.method == "POST" else []

    def throttled(self, request, wait):
        raise exceptions.Throttled(wait, detail="Too many uploads in a short time.")

    @extend_schema(request={"multipart/form-data": ser.SubmissionUploadSerializer},
                   responses={202: ser.SubmissionAcceptedSerializer,
                              200: ser.SubmissionAcceptedSerializer, 409: ser.ErrorSerializer,
                              413: ser.ErrorSerializer, 429: ser.ErrorSerializer, **ERROR},
                   summary="Submit a PDF (student; staff name the student); grading runs in the "
                           "background. The same file again is the same submission (200).")
    def post(self, request, code):
        exam = get_object_or_404(Exam, code=code)
        staff = roles.has_exam_role(request.user, exam)
        if not staff and not roles.is_student(request.user):
            raise exceptions.PermissionDenied("Only students and staff of this exam can upload.")
        data = ser.SubmissionUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        student = data.validated_data.get("student", "").strip()
        if not staff and student:
            raise exceptions.PermissionDenied("Students submit for themselves; leave out student.")
        if staff and not student:
            return Response({"error": "student: name the student (their id on the roster) "
                                      "this upload is for"}, status=400)
        upload = data.validated_data["pdf"]
        try:
            if staff:
                done = courses.submission_submit_for(exam=exam, student_id=student,
                                                     content=upload.read(), filename=upload.name,
                                                     uploaded_by=request.user)
            else:
                done = courses.submission_submit(exam=exam, content=upload.read(),
                                                 filename=upload.name, user=request.user)
        except courses.RosterError as exc:
            return Response({"error": str(exc)}, status=exc.status)
        except (policies.SubmissionRefused, services.ExamNotPublished) as exc:
            return Response({"error": str(exc)}, status=409)
        submission = done.submission
        submission.refresh_from_db()  # in-process grading may already have run on commit
        return Response({"id": submission.pk, "status": submission.status,
                         "url": f"/api/submissions/{submission.pk}/",
                         "duplicate": not done.created},
                        status=202 if done.created else 200)

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
        counting = set(policies.counting_ids(exam).values())
        return Response(ser.SubmissionListSerializer(
            qs.order_by("student", "id"), many=True,
            context={"show_results": show, "counting": counting}).data)


def visible_submission(request, pk) -> Submission:
    """The submission, or 404 for one the user may not see (as for one that does not exist)."""
    submission = Submission.objects.select_related("exam").filter(pk=pk).first()
    if submission is None or not roles.submission_visible_to(request.user, submission):
        raise exceptions.NotFound("No such submission.")
    return submission


class SubmissionDetailApi(BaseApi):
    @extend_schema(responses={200: ser.SubmissionSerializer, **ERROR},
                   summary="Status, progress and results (students: their feedback, once released)")
    def get(self, request, pk):
        submission = visible_submission(request, pk)
        staff = roles.has_exam_role(request.user, submission.exam)
        return Response(ser.SubmissionSerializer(submission, context={
            "show_results": staff or submission.exam.results_released,
            "as_student": not staff}).data)


class PngRenderer(BaseRenderer):
    """Lets clients ask for ``Accept: image/png``; the image itself is a plain HttpResponse."""

    media_type, format = "image/png", "png"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if not isinstance(data, bytes) else data


class SubmissionCropApi(BaseApi):
    renderer_classes = [JSONRenderer, PngRenderer]

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY, **ERROR},
                   summary="The answer to one question on one page, as an image (its student "
                           "once results are released; staff of the exam)")
    def get(self, request, pk, label, page):
        submission = visible_submission(request, pk)
        staff = roles.has_exam_role(request.user, submission.exam)
        if not staff and not submission.exam.results_released:
            raise exceptions.NotFound("No such submission.")
        answer = submission.answers.select_related("question", "submission").filter(
            question__label=label).first()
        if answer is None or page not in answer_pages(answer):
            raise exceptions.NotFound("No answer to that question on that page.")

        return png_response(answer, lambda pdf: crop_or_page(answer, page, pdf), optimize=True)


class CsvRenderer(BaseRenderer):
    """Lets clients ask for ``Accept: text/csv`` (else DRF answers 406 before the view runs).
    The CSV itself is returned as a plain HttpResponse; this only renders error bodies."""

    media_type, format, charset = "text/csv", "csv", "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if not isinstance(data, (str, bytes)) else data


def csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ResultsCsvApi(BaseApi):
    permission_classes = [IsAuthenticated, IsExamStaff]
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR, **ERROR},
                   summary="One row per student (the submission that counts), one column per "
                           "question (staff)")
    def get(self, request, code):
        exam = self.exam_for(code)
        return csv_response(results_csv(exam), f"{exam.code}-results.csv")


class GradebookCsvApi(BaseApi):
    permission_classes = [IsAuthenticated, IsExamStaff]
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(parameters=[OpenApiParameter("lms", str, enum=list(GRADEBOOKS),
                                                description="canvas (default) or moodle")],
                   responses={(200, "text/csv"): OpenApiTypes.STR, **ERROR},
                   summary="Totals as a Canvas or Moodle gradebook import CSV (staff)")
    def get(self, request, code):
        exam = self.exam_for(code)
        lms = request.query_params.get("lms", "canvas")
        if lms not in GRADEBOOKS:
            return Response({"error": f"lms: one of {', '.join(GRADEBOOKS)}"}, status=400)
        return csv_response(gradebook_csv(exam, lms), f"{exam.code}-{lms}.csv")


class ExamReleaseApi(BaseApi):
    permission_classes = [IsAuthenticated, IsExamInstructor]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(request=ser.ReleaseSerializer,
                   responses={200: ser.ReleaseDoneSerializer, 409: ser.ReleaseRefusedSerializer,
                              **ERROR},
                   summary="Release (or withdraw) results to students (instructor); refused while "
                           "flagged answers are unreviewed unless force")
    def post(self, request, code):
        exam = self.exam_for(code)
        data = ser.ReleaseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            record = courses.exam_release(exam=exam, user=request.user,
                                          released=data.validated_data["released"],
                                          force=data.validated_data["force"])
        except courses.ReleaseBlocked as exc:
            return Response({"error": str(exc), "unreviewed": exc.check.unreviewed,
                             "grading": exc.check.grading}, status=409)
        return Response({"released": record.released, "forced": record.forced,
                         "unreviewed": record.unreviewed, "by": request.user.get_username(),
                         "at": record.at})


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


# ---------------------------------------------------------------- regrade requests

class SubmissionRegradeRequestsApi(BaseApi):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(request=ser.RegradeRequestCreateSerializer,
                   responses={201: ser.RegradeRequestSerializer, 409: ser.ErrorSerializer, **ERROR},
                   summary="Ask for one question to be looked at again (the submission's student, "
                           "after the release, before the exam's deadline)")
    def post(self, request, pk):
        submission = visible_submission(request, pk)
        if submission.user_id != request.user.pk:
            raise exceptions.PermissionDenied("Only the student who submitted can ask for a regrade.")
        data = ser.RegradeRequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            created = regrades.regrade_request_file(
                submission=submission, question_label=data.validated_data["question"],
                reason=data.validated_data["reason"], student=request.user)
        except regrades.RegradeError as exc:
            return Response({"error": str(exc)}, status=exc.status)
        return Response(ser.RegradeRequestSerializer(created, context={"as_student": True}).data,
                        status=201)


class RegradeRequestListApi(BaseApi):
    @extend_schema(parameters=[
        OpenApiParameter("status", str, enum=["open", "resolved"], description="only these"),
        OpenApiParameter("exam", str, description="only this exam (its code)")],
        responses={200: ser.RegradeRequestSerializer(many=True), **ERROR},
        summary="Regrade requests: a student's own; staff: those of the exams they teach")
    def get(self, request):
        qs = regrades.regrade_requests_for(request.user)
        if request.query_params.get("status"):
            qs = qs.filter(status=request.query_params["status"])
        if request.query_params.get("exam"):
            qs = qs.filter(submission__exam__code=request.query_params["exam"])
        return Response(ser.RegradeRequestSerializer(qs, many=True, context=_audience(request)).data)


def _audience(request) -> dict:
    # Students see that a TA answered their request, not which TA.
    return {"as_student": not roles.is_course_staff(request.user)}


def visible_request(request, pk) -> RegradeRequest:
    found = regrades.regrade_requests_for(request.user).filter(pk=pk).first()
    if found is None:
        raise exceptions.NotFound("No such regrade request.")
    return found


class RegradeRequestDetailApi(BaseApi):
    @extend_schema(responses={200: ser.RegradeRequestSerializer, **ERROR},
                   summary="One regrade request (its student; staff of the exam)")
    def get(self, request, pk):
        return Response(ser.RegradeRequestSerializer(visible_request(request, pk),
                                                     context=_audience(request)).data)


class RegradeRequestResolveApi(BaseApi):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(request=ser.RegradeResolveSerializer,
                   responses={200: ser.RegradeRequestSerializer, 409: ser.ErrorSerializer, **ERROR},
                   summary="Resolve a regrade request with a response, optionally a new score "
                           "(TA or instructor of the exam)")
    def post(self, request, pk):
        found = visible_request(request, pk)
        if not roles.has_exam_role(request.user, found.submission.exam):
            raise exceptions.PermissionDenied("Only staff of this exam can resolve regrade requests.")
        data = ser.RegradeResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            done = regrades.regrade_request_resolve(
                request=found, reviewer=request.user, response=data.validated_data["response"],
                new_score=data.validated_data.get("new_score"))
        except regrades.RegradeError as exc:
            return Response({"error": str(exc)}, status=exc.status)
        return Response(ser.RegradeRequestSerializer(done).data)


# ---------------------------------------------------------------- roster

class ExamRosterApi(BaseApi):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), IsExamInstructor()]
        return [IsAuthenticated(), IsExamStaff()]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERROR},
                   summary="The exam's students and staff (staff of the exam)")
    def get(self, request, code):
        return Response(courses.roster_of(self.exam_for(code)))

    @extend_schema(request=ser.RosterStudentSerializer,
                   responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT, **ERROR},
                   summary="Enroll one student by student id; the account is made if needed "
                           "(instructor)")
    def post(self, request, code):
        exam = self.exam_for(code)
        data = ser.RosterStudentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        first, last = courses.split_name(data.validated_data.get("name", ""))
        row = courses.RosterRow(line=0, student_id=data.validated_data["student_id"].strip(),
                                first_name=first, last_name=last,
                                email=data.validated_data.get("email", "").strip())
        try:
            done = courses.student_enroll(exam=exam, row=row, added_by=request.user)
        except courses.RosterError as exc:
            return Response({"error": str(exc)}, status=exc.status)
        return Response({"student_id": row.student_id, "username": done.user.get_username(),
                         "account_created": done.created_user},
                        status=201 if done.newly_enrolled else 200)


class ExamRosterImportApi(BaseApi):
    permission_classes = [IsAuthenticated, IsExamInstructor]
    parser_classes = [MultiPartParser, FormParser]
    limits_upload = True

    @extend_schema(request={"multipart/form-data": ser.RosterImportSerializer},
                   responses={200: OpenApiTypes.OBJECT, **ERROR},
                   summary="Import a roster CSV (student id, name, email): all rows or none "
                           "(instructor)")
    def post(self, request, code):
        exam = self.exam_for(code)
        data = ser.RosterImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            report = courses.roster_import(exam=exam, text=data.validated_data["csv"],
                                           added_by=request.user)
        except courses.RosterError as exc:
            return Response({"error": str(exc)}, status=exc.status)
        return Response(report.as_dict())


class ExamRosterStudentApi(BaseApi):
    permission_classes = [IsAuthenticated, IsExamInstructor]

    @extend_schema(responses={204: None, **ERROR},
                   summary="Take a student off the roster; submissions stay (instructor)")
    def delete(self, request, code, student_id):
        exam = self.exam_for(code)
        try:
            courses.student_unenroll(exam=exam, student_id=student_id)
        except courses.RosterError as exc:
            return Response({"error": str(exc)}, status=exc.status)
        return Response(status=204)


class ExamStaffApi(BaseApi):
    permission_classes = [IsAuthenticated, IsExamInstructor]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(request=ser.StaffAddSerializer, responses={201: OpenApiTypes.OBJECT, **ERROR},
                   summary="Add a TA or instructor to the exam; the account is made if needed "
                           "(instructor)")
    def post(self, request, code):
        exam = self.exam_for(code)
        data = ser.StaffAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user, created = courses.staff_add(exam=exam, **data.validated_data)
        except courses.RosterError as exc:
            return Response({"error": str(exc)}, status=exc.status)
        return Response({"username": user.get_username(), "role": data.validated_data["role"],
                         "account_created": created}, status=201)


class ExamStaffMemberApi(BaseApi):
    permission_classes = [IsAuthenticated, IsExamInstructor]

    @extend_schema(responses={204: None, **ERROR}, summary="Remove a staff role (instructor)")
    def delete(self, request, code, username, role):
        exam = self.exam_for(code)
        try:
            courses.staff_remove(exam=exam, username=username, role=role)
        except courses.RosterError as exc:
            return Response({"error": str(exc)}, status=exc.status)
        return Response(status=204)


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
