# postergenre on a Hugging Face Space (Docker SDK): the Streamlit app on the port that README.md's
# front matter names (app_port: 8501). Build and try it locally:
#   docker build -t postergenre . && docker run --rm -p 8501:8501 -e TMDB_API_TOKEN=... postergenre
# On the Space, add TMDB_API_TOKEN under Settings -> Variables and secrets (a secret); it reaches the
# app as an environment variable and is never logged or shown.
FROM python:3.11-slim

# libgomp1: OpenMP for onnxruntime / torch; libglib2.0-0: OpenCV (face detection). Nothing else.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

# Spaces run containers as UID 1000: create that user and do everything as it.
RUN useradd -m -u 1000 user
USER user
ENV HOME=/home/user \
    PATH=/home/user/.local/bin:$PATH \
    PYTHONPATH=/home/user/app \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    POSTERGENRE_DEVICE=cpu \
    PORT=8501
WORKDIR /home/user/app

# The exact pins of requirements.txt. Spaces' free hardware is CPU-only, so torch/torchvision come from
# PyTorch's CPU wheel index (torch==2.14.1 is then satisfied by 2.14.1+cpu, a fraction of the CUDA size).
COPY --chown=user requirements.txt .
RUN pip install --user --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

COPY --chown=user . .

# Export the ONNX backbone now (into ~/.cache/postergenre) so the Space starts without that minute.
RUN python -c "import postergenre; postergenre.load(device='cpu')"

EXPOSE 8501
CMD streamlit run app.py --server.port $PORT --server.address 0.0.0.0 --server.headless true \
    --browser.gatherUsageStats false
