# postergenre on a Hugging Face Space (Docker SDK): the Streamlit app on the port that README.md's
# front matter names (app_port: 8501). Build and try it locally:
#   docker build -t postergenre . && docker run --rm -p 8501:8501 -e TMDB_API_TOKEN=... postergenre
# On the Space, add TMDB_API_TOKEN under Settings -> Variables and secrets (a secret); it reaches the
# app as an environment variable and is never logged or shown.
#
# Two stages. "export" has the full pinned install (torch included) and only exports the backbone's
# ONNX graphs, fp32 and int8; the final image installs the app's serving set (requirements-space.txt: no
# torch, torchvision or pytorch-grad-cam, nor the catalog engines Ray and LanceDB), copies those graphs
# in and runs on ONNX Runtime.

# ---- base: what both stages share (system libraries, the UID-1000 user, the environment) ----------
FROM python:3.11-slim AS base

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

# ---- stage 1: export the ONNX graphs with torch ----------------------------------------------------
FROM base AS export

# The exact pins of requirements.txt; torch/torchvision from PyTorch's CPU wheel index (torch==2.14.1 is
# then satisfied by 2.14.1+cpu, a fraction of the CUDA size). None of it reaches the final image.
COPY --chown=user requirements.txt .
RUN pip install --user --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt
COPY --chown=user . .
# fp32 graph (torch.onnx.export) + int8 graphs (static QDQ with the shipped calibration: 8-bit weights for CPUs
# with VNNI/AMX, 7-bit "int8r7" for AVX2-only ones) into ~/.cache/postergenre/onnx
RUN python -m postergenre export-onnx

# ---- stage 2: the served image, no torch -----------------------------------------------------------
FROM base

# The serving pins (each one copied exactly from requirements.txt).
COPY --chown=user requirements-space.txt .
RUN pip install --user -r requirements-space.txt

COPY --chown=user . .
COPY --from=export --chown=user /home/user/.cache/postergenre/onnx /home/user/.cache/postergenre/onnx

# Fails the build if torch slipped in, or if the copied graphs do not load and predict without it.
RUN python -c "import importlib.util as u, sys; sys.exit('torch in the serving image' if u.find_spec('torch') else 0)" \
    && python -c "import postergenre; from PIL import Image; postergenre.load(device='cpu').predict(Image.new('RGB', (182, 268)))"

EXPOSE 8501
CMD streamlit run app.py --server.port $PORT --server.address 0.0.0.0 --server.headless true \
    --browser.gatherUsageStats false
