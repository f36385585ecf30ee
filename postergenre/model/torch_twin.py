"""The PyTorch side of the model: backbone features, the trainable head, the full differentiable model.

``MultiScaleFeatures`` is the network that ``runtime.py`` exports to ONNX. The committed head weights
are NumPy arrays (``head.npz``); ``GenreHead`` holds the same numbers as torch parameters for training,
and ``build_torch_model`` joins backbone + head into one module whose logits Grad-CAM differentiates
(``model.target_layer`` is the last convolutional block).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from postergenre.model.backbone import BackboneConfig, build_backbone

__all__ = ["MultiScaleFeatures", "FeaturesWithMap", "torch_features", "GenreHead", "PosterGenreModel", "build_torch_model"]


class MultiScaleFeatures(nn.Module):
    """EfficientNet-Lite trunk -> concatenated [mean, max] pooled outputs of the tapped stages.

    Input: float tensor N x 3 x H x W with RGB values in 0..255. Output: N x ``dim`` features.
    ``feature_map()`` returns the last (head) activation map, which Grad-CAM hooks into.
    """

    def __init__(self, net, cfg: BackboneConfig):
        super().__init__()
        self.net, self.cfg = net, cfg
        self.register_buffer("mean", torch.tensor(cfg.mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(cfg.std, dtype=torch.float32).view(1, 3, 1, 1))
        self.block_taps = sorted(t for t in cfg.taps if t != "head")
        self.use_head = "head" in cfg.taps
        channels = [net._blocks[i]._bn2.num_features for i in self.block_taps]
        if self.use_head:
            channels.append(net._bn1.num_features)
        self.dim = sum(channels) * len(cfg.pooling)

    def _pool(self, x):
        parts = []
        for p in self.cfg.pooling:
            parts.append(x.mean(dim=(2, 3)) if p == "mean" else x.amax(dim=(2, 3)))
        return parts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_map(x)[0]

    def forward_with_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(features, the last convolution's output before its ReLU6: the map Grad-CAM weighs, or
        None without the head tap)."""
        net, last_conv = self.net, None
        x = (x - self.mean) / self.std
        x = net._swish(net._bn0(net._conv_stem(x)))
        pooled = []
        taps = set(self.block_taps)
        last = max(self.block_taps) if not self.use_head else len(net._blocks) - 1
        for idx, block in enumerate(net._blocks):
            x = block(x)
            if idx in taps:
                pooled += self._pool(x)
            if idx >= last:
                break
        if self.use_head:
            last_conv = net._bn1(net._conv_head(x))
            pooled += self._pool(net._swish(last_conv))
        return torch.cat(pooled, dim=1), last_conv


class FeaturesWithMap(nn.Module):
    """``MultiScaleFeatures`` with the last convolution's map as a second output (the ONNX export)."""

    def __init__(self, features: MultiScaleFeatures):
        super().__init__()
        self.features = features

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.features.forward_with_map(x)


def torch_features(cfg: BackboneConfig) -> MultiScaleFeatures:
    """The ImageNet backbone wrapped as the multi-scale feature extractor, in eval mode."""
    return MultiScaleFeatures(build_backbone(cfg.name), cfg).eval()


class GenreHead(nn.Module):
    """K independent MLPs (D -> H -> G, ReLU, dropout) on standardised features; logits averaged."""

    def __init__(self, mu: np.ndarray, sigma: np.ndarray, members: int, hidden: int, genres: int,
                 dropout: float = 0.0, input_dropout: float = 0.0):
        super().__init__()
        d = len(mu)
        self.register_buffer("mu", torch.as_tensor(mu, dtype=torch.float32))
        self.register_buffer("sigma", torch.as_tensor(sigma, dtype=torch.float32))
        self.w1 = nn.Parameter(torch.empty(members, d, hidden))
        self.b1 = nn.Parameter(torch.zeros(members, hidden))
        self.w2 = nn.Parameter(torch.empty(members, hidden, genres))
        self.b2 = nn.Parameter(torch.zeros(members, genres))
        for k in range(members):  # the same init as nn.Linear, per member
            nn.init.kaiming_uniform_(self.w1.data[k].T, a=5**0.5)
            nn.init.kaiming_uniform_(self.w2.data[k].T, a=5**0.5)
        self.drop, self.in_drop = nn.Dropout(dropout), nn.Dropout(input_dropout)

    def member_logits(self, feats: torch.Tensor) -> torch.Tensor:
        """N x D (the same rows for every member) or K x N x D (each member its own rows, as in
        training) -> K x N x G logits."""
        z = self.in_drop((feats - self.mu) / self.sigma)
        pattern = "nd,kdh->knh" if z.dim() == 2 else "knd,kdh->knh"
        h = torch.relu(torch.einsum(pattern, z, self.w1) + self.b1[:, None, :])
        return torch.einsum("knh,khg->kng", self.drop(h), self.w2) + self.b2[:, None, :]

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.member_logits(feats).mean(dim=0)

    def to_numpy(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in self.state_dict().items()}

    @classmethod
    def from_numpy(cls, params: dict[str, np.ndarray]) -> "GenreHead":
        members, d, hidden = params["w1"].shape
        head = cls(params["mu"], params["sigma"], members, hidden, params["w2"].shape[-1])
        head.load_state_dict({k: torch.as_tensor(params[k]) for k in ("mu", "sigma", "w1", "b1", "w2", "b2")})
        return head


class PosterGenreModel(nn.Module):
    """N x 3 x H x W float RGB (0..255) -> N x G genre logits."""

    def __init__(self, features: nn.Module, head: GenreHead):
        super().__init__()
        self.features, self.head = features, head

    @property
    def target_layer(self) -> nn.Module:
        """The last convolution (head conv + BN) of the backbone: its activations feed Grad-CAM."""
        return self.features.net._bn1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build_torch_model(cfg: BackboneConfig, params: dict[str, np.ndarray]) -> PosterGenreModel:
    model = PosterGenreModel(torch_features(cfg), GenreHead.from_numpy(params))
    for p in model.parameters():
        p.requires_grad_(False)  # Grad-CAM needs activation gradients only
    return model.eval()
