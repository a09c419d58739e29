from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from exams import api
from exams.student_views import FirstPasswordResetForm

urlpatterns = [
    # The admin's login page links here ("Forgotten your password?") when the name exists:
    # staff accounts made from a roster page set their first password this way.
    path("admin/password_reset/",
         auth_views.PasswordResetView.as_view(form_class=FirstPasswordResetForm),
         name="admin_password_reset"),
    path("admin/", admin.site.urls),
    path("", include("exams.student_urls")),
    path("api/auth/token/", api.TokenApi.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api.ApiDocsView.as_view(), name="api-docs"),
    path("api/exams/", api.ExamListCreateApi.as_view(), name="api-exams"),
    path("api/exams/<str:code>/", api.ExamDetailApi.as_view(), name="api-exam"),
    path("api/exams/<str:code>/submissions/", api.ExamSubmissionsApi.as_view(),
         name="api-exam-submissions"),
    path("api/exams/<str:code>/results.csv", api.ResultsCsvApi.as_view(), name="api-results-csv"),
    path("api/exams/<str:code>/gradebook.csv", api.GradebookCsvApi.as_view(),
         name="api-gradebook-csv"),
    path("api/exams/<str:code>/release/", api.ExamReleaseApi.as_view(), name="api-exam-release"),
    path("api/exams/<str:code>/regrade/", api.ExamRegradeApi.as_view(), name="api-exam-regrade"),
    path("api/exams/<str:code>/stats/", api.ExamStatsApi.as_view(), name="api-exam-stats"),
    path("api/exams/<str:code>/roster/", api.ExamRosterApi.as_view(), name="api-exam-roster"),
    path("api/exams/<str:code>/roster/import/", api.ExamRosterImportApi.as_view(),
         name="api-exam-roster-import"),
    path("api/exams/<str:code>/roster/<str:student_id>/", api.ExamRosterStudentApi.as_view(),
         name="api-exam-roster-student"),
    path("api/exams/<str:code>/staff/", api.ExamStaffApi.as_view(), name="api-exam-staff"),
    path("api/exams/<str:code>/staff/<str:username>/<str:role>/",
         api.ExamStaffMemberApi.as_view(), name="api-exam-staff-member"),
    path("api/submissions/<int:pk>/", api.SubmissionDetailApi.as_view(), name="api-submission"),
    path("api/submissions/<int:pk>/crops/<str:label>/<int:page>.png",
         api.SubmissionCropApi.as_view(), name="api-submission-crop"),
    path("api/submissions/<int:pk>/regrade-requests/", api.SubmissionRegradeRequestsApi.as_view(),
         name="api-submission-regrade-requests"),
    path("api/regrade-requests/", api.RegradeRequestListApi.as_view(), name="api-regrade-requests"),
    path("api/regrade-requests/<int:pk>/", api.RegradeRequestDetailApi.as_view(),
         name="api-regrade-request"),
    path("api/regrade-requests/<int:pk>/resolve/", api.RegradeRequestResolveApi.as_view(),
         name="api-regrade-request-resolve"),
]
