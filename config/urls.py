from django.contrib import admin
from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from exams import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/token/", api.TokenApi.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api.ApiDocsView.as_view(), name="api-docs"),
    path("api/exams/", api.ExamCreateApi.as_view(), name="api-exam-create"),
    path("api/exams/<str:code>/", api.ExamDetailApi.as_view(), name="api-exam"),
    path("api/exams/<str:code>/submissions/", api.ExamSubmissionsApi.as_view(),
         name="api-exam-submissions"),
    path("api/exams/<str:code>/results.csv", api.ResultsCsvApi.as_view(), name="api-results-csv"),
    path("api/exams/<str:code>/release/", api.ExamReleaseApi.as_view(), name="api-exam-release"),
    path("api/exams/<str:code>/regrade/", api.ExamRegradeApi.as_view(), name="api-exam-regrade"),
    path("api/exams/<str:code>/stats/", api.ExamStatsApi.as_view(), name="api-exam-stats"),
    path("api/submissions/<int:pk>/", api.SubmissionDetailApi.as_view(), name="api-submission"),
]
