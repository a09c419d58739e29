FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OMP_THREAD_LIMIT=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The runtime dependencies only (requirements-test.txt is for `make test`).
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --create-home grader && mkdir -p /data/media && chown -R grader /data /app
USER grader
# MEDIA_ROOT is used only without AWS_STORAGE_BUCKET_NAME (docker-compose.yml sets a bucket).
ENV MEDIA_ROOT=/data/media STATIC_ROOT=/app/staticfiles
# With the deployment's settings, so WhiteNoise finds the hashed, compressed files and their
# manifest at run time (the key is a placeholder: collectstatic signs nothing).
RUN DEBUG=0 GRADER_EMBEDDED=0 SECRET_KEY=collectstatic-build-step-only python manage.py collectstatic --noinput >/dev/null
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
