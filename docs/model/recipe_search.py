"""Recipe search for the emotion model, in PyTorch on a GPU (exploration only, not shipped).

The shipped model is trained by ``python -m tagger.training`` (or ``emotag train``) with
Keras on CPU; this script only searched recipes faster (16 configurations in parallel on one H100) before the
winning one was ported to Keras. Results: docs/model/experiments.md.

1. With the project's venv, pack the windows of the corpus (a ``tagger.training`` cache, ``--cache``)::

       python docs/model/recipe_search.py pack CLIPS.npz data.npz

   ``pooled``: frame rows averaged over 4 frames ``(n, 75, 92)`` float16; ``base``: the
   161 window aggregates; ``rich``: 646 functionals of active frames (below); labels,
   speech flags, clip index and each clip's fold.
2. Where PyTorch and a GPU are (not a dependency of this project)::

       python3 recipe_search.py run OUTDIR [CONFIG ...]

   Every configuration: 5 speaker-grouped folds × ``seeds``; clip accuracy of the seed
   ensemble (mean window probabilities over a clip's speech windows), per seed, and
   ``wp_<name>.npy`` out-of-fold window probabilities ``(seeds, n, 8)``.
"""

import math
import os
import sys
import time

import numpy as np
import torch
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F  # noqa: N812

HERE = os.path.dirname(os.path.abspath(__file__))
N_MELS = 64
BASE = dict(
    kind="cnn",
    cols="melscal",
    widths=(48, 64, 96),
    dropout=0.3,
    epochs=80,
    lr=2e-3,
    wd=1e-4,
    batch=64,
    mixup=0.0,
    ls=0.0,
    shift=12,
    gain=6.0,
    band=0,
    tmask=10,
    fmask=8,
    noise=0.5,
    seeds=2,
    pool="gapmax",
    gru=0,
    mlp_units=(256, 128),
    feats="rich",
    feat_noise=0.0,
)
CONFIGS = {
    "k_base3": dict(seeds=3),
    "k_mix_e120": dict(seeds=3, mixup=0.4, epochs=120),
    "f_base_emb": dict(seeds=3, kind="fuse", feats="base"),
    "f_rich_emb": dict(seeds=3, kind="fuse", feats="rich"),
    "f_base_emb_d5": dict(seeds=3, kind="fuse", feats="base", dropout=0.5),
    "f_both_emb": dict(seeds=3, kind="fuse", feats="both"),
    "k_base": {},
    "k_all": dict(cols="all"),
    "k_band2": dict(band=2),
    "k_band3_mix": dict(band=3, mixup=0.4),
    "k_mix": dict(mixup=0.4),
    "k_wide_band2_mix": dict(widths=(64, 128, 160), band=2, mixup=0.4, dropout=0.4),
    "k_deep_band2_mix": dict(widths=(48, 64, 96, 128), band=2, mixup=0.4),
    "k_gru_band2_mix": dict(gru=64, band=2, mixup=0.4),
    "k_att_band2_mix": dict(pool="att", band=2, mixup=0.4),
    "k_ls_band2_mix_e150": dict(ls=0.1, band=2, mixup=0.4, epochs=150),
    "k_noaug": dict(shift=0, gain=0.0, tmask=0, fmask=0, noise=0.0),
    "m_rich": dict(kind="mlp", feats="rich"),
    "m_rich_mix": dict(kind="mlp", feats="rich", mixup=0.4, dropout=0.5),
    "m_both_mix": dict(kind="mlp", feats="both", mixup=0.4, dropout=0.5),
    "m_base_mix": dict(kind="mlp", feats="base", mixup=0.4, dropout=0.5),
    "m_rich_mix_noise": dict(kind="mlp", feats="rich", mixup=0.4, dropout=0.5, feat_noise=0.3),
}


def load():
    d = np.load(os.environ.get("RECIPE_DATA", os.path.join(HERE, "data.npz")))
    return {k: d[k] for k in d.files}


def functionals(fr):
    """646 functionals of a window's active frames (rms within 35 dB of the window's
    loudest): mean, std, 10/50/90th percentiles, mean |delta| and delta std of the 92
    frame features (log f0 over voiced frames), active and voiced fractions."""
    rms = fr[:, :, 84]
    active = (rms > rms.max(axis=1, keepdims=True) - 35.0) & (fr[:, :, 0] > -99)
    x = fr.astype(np.float64)
    f0 = x[:, :, 91]
    x[:, :, 91] = np.where(f0 > 0, np.log(np.maximum(f0, 1)), np.nan)
    x = np.where(active[:, :, None], x, np.nan)
    d1 = np.diff(x, axis=1)
    with np.errstate(all="ignore"):
        parts = [np.nanmean(x, 1), np.nanstd(x, 1), *np.nanpercentile(x, [10, 50, 90], axis=1)]
        parts += [np.nanmean(np.abs(d1), 1), np.nanstd(d1, 1)]
    parts += [active.mean(1, keepdims=True), np.isfinite(x[:, :, 91]).mean(1, keepdims=True)]
    return np.nan_to_num(np.concatenate(parts, 1), nan=0.0).astype(np.float32)


def pack(clips_path, out_path, folds_path="../shared/corpora/ravdess/folds.tsv"):
    import pandas as pd

    d = np.load(clips_path)
    fr = d["frames"]
    folds = pd.read_csv(folds_path, sep="\t")
    fold_of = dict(zip(folds.actor, folds.fold, strict=True))
    np.savez(
        out_path,
        pooled=fr.reshape(fr.shape[0], fr.shape[1] // 4, 4, fr.shape[2]).mean(2).astype(np.float16),
        rich=functionals(fr),
        base=d["features"],
        clip=d["clip"],
        labels=d["labels"],
        actors=d["actors"],
        speech=d["is_speech"],
        cfold=np.array([fold_of[a] for a in d["actors"]]),
    )


class CNN(nn.Module):
    def __init__(self, c_in, cfg):
        super().__init__()
        layers = []
        prev = c_in
        widths = cfg["widths"]
        for i, w in enumerate(widths):
            k = 5 if i < 2 else 3
            layers += [nn.Conv1d(prev, w, k, padding=k // 2, bias=False), nn.BatchNorm1d(w), nn.ReLU()]
            if i < len(widths) - 1:
                layers.append(nn.MaxPool1d(2))
            prev = w
        self.body = nn.Sequential(*layers)
        self.pool = cfg["pool"]
        self.gru = None
        if cfg["gru"]:
            self.gru = nn.GRU(prev, cfg["gru"], batch_first=True, bidirectional=True)
            prev = 2 * cfg["gru"]
        if self.pool == "att":
            self.att = nn.Linear(prev, 1)
            out = 2 * prev
        else:
            out = 2 * prev
        self.drop = nn.Dropout(cfg["dropout"])
        self.head = nn.Linear(out, 8)

    def forward(self, x):  # x (b, t, c)
        h = self.body(x.transpose(1, 2)).transpose(1, 2)  # (b, t', c)
        if self.gru is not None:
            h, _ = self.gru(h)
        if self.pool == "att":
            a = torch.softmax(self.att(h), dim=1)
            mu = (a * h).sum(1)
            sd = ((a * (h - mu[:, None]) ** 2).sum(1) + 1e-5).sqrt()
            z = torch.cat([mu, sd], 1)
        else:
            z = torch.cat([h.mean(1), h.amax(1)], 1)
        return self.head(self.drop(z))


class Fuse(nn.Module):
    def __init__(self, c_in, f_in, cfg):
        super().__init__()
        self.cnn = CNN(c_in, cfg)
        width = self.cnn.head.in_features
        self.cnn.head = nn.Identity()
        self.vec = nn.Sequential(nn.Linear(f_in, 128), nn.ReLU(), nn.Dropout(cfg["dropout"]))
        self.head = nn.Linear(width + 128, 8)

    def forward(self, x, v):
        return self.head(torch.cat([self.cnn(x), self.vec(v)], 1))


class MLP(nn.Module):
    def __init__(self, c_in, cfg):
        super().__init__()
        layers = []
        prev = c_in
        for w in cfg["mlp_units"]:
            layers += [nn.Linear(prev, w), nn.ReLU(), nn.Dropout(cfg["dropout"])]
            prev = w
        layers.append(nn.Linear(prev, 8))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def augment_seq(x, cfg, g):
    """x raw (b, t, c) dB-domain with first 64 columns log-mel; returns augmented raw."""
    b, t, c = x.shape
    dev = x.device
    if cfg["shift"]:
        s = torch.randint(-cfg["shift"], cfg["shift"] + 1, (b,), device=dev, generator=g)
        idx = (torch.arange(t, device=dev)[None, :] - s[:, None]) % t
        x = torch.gather(x, 1, idx[:, :, None].expand(b, t, c))
    mel = x[:, :, :N_MELS]
    if cfg["band"]:
        s = torch.randint(-cfg["band"], cfg["band"] + 1, (b,), device=dev, generator=g)
        idx = (torch.arange(N_MELS, device=dev)[None, :] - s[:, None]).clamp(0, N_MELS - 1)
        mel = torch.gather(mel, 2, idx[:, None, :].expand(b, t, N_MELS))
    if cfg["gain"]:
        gain = (torch.rand(b, 1, 1, device=dev, generator=g) * 2 - 1) * cfg["gain"]
        mel = torch.where(mel > -99.0, mel + gain, mel)
    if cfg["noise"]:
        sel = (torch.rand(b, 1, 1, device=dev, generator=g) < cfg["noise"]).float()
        peak = mel.amax(dim=(1, 2), keepdim=True)
        level = peak - 15 - 30 * torch.rand(b, 1, 1, device=dev, generator=g)
        tilt = torch.linspace(0, 1, N_MELS, device=dev)[None, None, :] * (
            -12 + 18 * torch.rand(b, 1, 1, device=dev, generator=g)
        )
        noise = (
            level
            + tilt
            + 2 * torch.randn(b, t, 1, device=dev, generator=g)
            + 2 * torch.randn(b, 1, N_MELS, device=dev, generator=g)
        )
        hi = torch.maximum(mel, noise)
        mixed = hi + 10 * torch.log10(1 + 10 ** (-(mel - noise).abs() / 10))
        mel = sel * mixed + (1 - sel) * mel
    x = torch.cat([mel, x[:, :, N_MELS:]], 2)
    return x


def masks(xn, cfg, g):
    b, t, c = xn.shape
    dev = xn.device
    if cfg["tmask"]:
        st = torch.randint(0, t, (b, 1), device=dev, generator=g)
        ln = torch.randint(0, cfg["tmask"] + 1, (b, 1), device=dev, generator=g)
        ar = torch.arange(t, device=dev)[None, :]
        m = (ar >= st) & (ar < st + ln)
        xn = xn.masked_fill(m[:, :, None], 0.0)
    if cfg["fmask"]:
        st = torch.randint(0, N_MELS, (b, 1), device=dev, generator=g)
        ln = torch.randint(0, cfg["fmask"] + 1, (b, 1), device=dev, generator=g)
        ar = torch.arange(c, device=dev)[None, :]
        m = (ar >= st) & (ar < st + ln) & (ar < N_MELS)
        xn = xn.masked_fill(m[:, None, :], 0.0)
    return xn


def select_cols(x, cols):
    if cols == "all":
        return x
    if cols == "mel":
        return x[:, :, :N_MELS]
    if cols == "melscal":  # log-mel + 8 scalars (MFCCs are a linear map of log-mel)
        return torch.cat([x[:, :, :N_MELS], x[:, :, 84:]], 2)
    raise ValueError(cols)


def run_config(name, cfg, data, device):
    torch.backends.cudnn.benchmark = True
    y = torch.tensor(data["labels"][data["clip"]], device=device)
    wfold = data["cfold"][data["clip"]]
    n = len(y)
    if cfg["kind"] == "fuse":
        vfeats = {
            "rich": data["rich"],
            "base": data["base"],
            "both": np.concatenate([data["base"], data["rich"]], 1),
        }[cfg["feats"]]
        vraw = torch.tensor(vfeats, device=device)
    if cfg["kind"] in ("cnn", "fuse"):
        raw = torch.tensor(data["pooled"].astype(np.float32), device=device)
        f0 = raw[:, :, 91]
        raw[:, :, 91] = torch.where(f0 > 0, torch.log(f0.clamp(min=1.0)), torch.zeros_like(f0))
    else:
        feats = {
            "rich": data["rich"],
            "base": data["base"],
            "both": np.concatenate([data["base"], data["rich"]], 1),
        }[cfg["feats"]]
        raw = torch.tensor(feats, device=device)
    wp = np.zeros((cfg["seeds"], n, 8), dtype=np.float32)
    counts = np.bincount(data["labels"][data["clip"]], minlength=8)
    for seed in range(cfg["seeds"]):
        for k in range(5):
            tr = torch.tensor(wfold != k, device=device)
            te = ~tr
            torch.manual_seed(1000 * seed + k)
            g = torch.Generator(device=device)
            g.manual_seed(1000 * seed + k)
            if cfg["kind"] in ("cnn", "fuse"):
                xs = select_cols(raw, cfg["cols"])
                mu = xs[tr].mean(dim=(0, 1))
                sd = xs[tr].std(dim=(0, 1)) + 1e-3
                if cfg["kind"] == "fuse":
                    vmu = vraw[tr].mean(0)
                    vsd = vraw[tr].std(0) + 1e-3
                    model = Fuse(xs.shape[2], vraw.shape[1], cfg).to(device)
                    vtr = (vraw[tr] - vmu) / vsd
                else:
                    model = CNN(xs.shape[2], cfg).to(device)
            else:
                mu = raw[tr].mean(0)
                sd = raw[tr].std(0) + 1e-3
                model = MLP(raw.shape[1], cfg).to(device)
            ytr = y[tr]
            cw = torch.tensor(
                counts.sum() / (8 * np.bincount(ytr.cpu().numpy(), minlength=8)),
                dtype=torch.float32,
                device=device,
            )
            opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["wd"])
            ntr = int(tr.sum())
            steps_per = math.ceil(ntr / cfg["batch"])
            total = steps_per * cfg["epochs"]
            sched = torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=cfg["lr"], total_steps=total, pct_start=0.1
            )
            xtr_raw = raw[tr]
            for epoch in range(cfg["epochs"]):
                model.train()
                perm = torch.randperm(ntr, device=device, generator=g)
                for i in range(steps_per):
                    bi = perm[i * cfg["batch"] : (i + 1) * cfg["batch"]]
                    xb = xtr_raw[bi]
                    yb = F.one_hot(ytr[bi], 8).float()
                    vb = vtr[bi] if cfg["kind"] == "fuse" else None
                    if cfg["kind"] in ("cnn", "fuse"):
                        xb = augment_seq(xb, cfg, g)
                        xb = (select_cols(xb, cfg["cols"]) - mu) / sd
                        xb = masks(xb, cfg, g)
                    else:
                        xb = (xb - mu) / sd
                        if cfg["feat_noise"]:
                            xb = xb + cfg["feat_noise"] * torch.randn(xb.shape, device=device, generator=g)
                    if cfg["ls"]:
                        yb = yb * (1 - cfg["ls"]) + cfg["ls"] / 8
                    if cfg["mixup"]:
                        lam = float(
                            np.random.default_rng(epoch * 7919 + i + seed).beta(cfg["mixup"], cfg["mixup"])
                        )
                        pi = torch.randperm(len(bi), device=device, generator=g)
                        xb = lam * xb + (1 - lam) * xb[pi]
                        if vb is not None:
                            vb = lam * vb + (1 - lam) * vb[pi]
                        yb = lam * yb + (1 - lam) * yb[pi]
                    logits = model(xb, vb) if vb is not None else model(xb)
                    w = (yb * cw[None, :]).sum(1)
                    loss = (-(yb * F.log_softmax(logits, 1)).sum(1) * w).mean()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    sched.step()
            model.eval()
            with torch.no_grad():
                if cfg["kind"] in ("cnn", "fuse"):
                    xt = (select_cols(raw[te], cfg["cols"]) - mu) / sd
                else:
                    xt = (raw[te] - mu) / sd
                out = model(xt, (vraw[te] - vmu) / vsd) if cfg["kind"] == "fuse" else model(xt)
                wp[seed, te.cpu().numpy()] = torch.softmax(out, 1).cpu().numpy()
    return wp


def clip_metrics(wp, data):
    clip, labels, speech = data["clip"], data["labels"], data["speech"]
    nc = len(labels)
    cp = np.zeros((nc, 8))
    for c in range(nc):
        m = (clip == c) & speech
        if not m.any():
            m = clip == c
        cp[c] = wp[m].mean(0)
    acc = (cp.argmax(1) == labels).mean()
    folds = [(cp.argmax(1) == labels)[data["cfold"] == k].mean() for k in range(5)]
    return acc, np.std(folds), (wp.argmax(1) == labels[clip]).mean()


def worker(name, out_dir):
    cfg = {**BASE, **CONFIGS[name]}
    if os.environ.get("SMOKE"):
        cfg.update(epochs=1, seeds=1)
    data = load()
    t = time.time()
    wp = run_config(name, cfg, data, "cuda")
    np.save(os.path.join(out_dir, f"wp_{name}.npy"), wp.astype(np.float16))
    per_seed = [clip_metrics(wp[s], data)[0] for s in range(wp.shape[0])]
    acc, sd, wacc = clip_metrics(wp.mean(0), data)
    line = (
        f"{name:24s} ens {acc:.3f} (fold sd {sd:.3f}) seeds {' '.join(f'{a:.3f}' for a in per_seed)} "
        f"win {wacc:.3f} {time.time() - t:.0f}s"
    )
    print(line, flush=True)
    return line


if __name__ == "__main__":
    if sys.argv[1] == "pack":
        pack(sys.argv[2], sys.argv[3])
        sys.exit(0)
    out = sys.argv[2]
    names = sys.argv[3:] or list(CONFIGS)
    os.makedirs(out, exist_ok=True)
    ctx = mp.get_context("spawn")
    with ctx.Pool(min(len(names), 16)) as pool:
        lines = pool.starmap(worker, [(n, out) for n in names])
    print("\n".join(lines))
