FROM python:3.11-slim
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -e . && useradd --create-home newsmon
USER newsmon
ENV NEWSMON_SEEDS_DIR=/app/seeds
CMD ["newsmon", "--help"]
