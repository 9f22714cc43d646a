#!/usr/bin/python3
"""Writes the golden log-mel spectrograms that audio's mel_log_test.go checks.

Run once, from this directory, and commit what it writes (the Go tests never
call Python):

    apt-get update && apt-get install -y python3-torchaudio libopenblas0-openmp
    cd audio/testdata/mel && /usr/bin/python3 gen.py

(Debian bookworm: torch 1.13.0a0, torchaudio 0.13.1.) It writes

    manifest.json         one entry per case: the preset ("default" for
                          audio.DefaultMelParams, "tacotron" for
                          audio.TacotronMelParams, "htk", "nocenter"), the MelParams
                          (the JSON of audio.MelParams), input and output file names,
                          frames, n_mels, dtype of the torch computation
    in_<signal>_<rate>.f32  the input signal, little-endian float32
    out_<case>.f32          torch.log or log10 of torch.clamp(mel, min=floor),
                          (frames, n_mels) row-major, little-endian float32

Each output is

    m = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=, win_length=,
        hop_length=, f_min=, f_max=, n_mels=, power=, center=True,
        pad_mode="reflect", norm=, mel_scale=)(x)      # window: torch.hann_window
    torch.log(torch.clamp(m, min=floor))                 # or torch.log10

computed in float64 (x, window, filters and STFT all float64: torch's default
dtype is float64 while the module is made): the reference the Go code
(float64 throughout) is held to 1e-4 on every value. The float32 torch
computation (what a Python front end usually exports) is written too for the
default preset cases (dtype "float32" in the manifest): torch's own float32
result is up to 3e-3 from its float64 one in bands more than 8 nats below
their frame's loudest (the float32 FFT's rounding is then a visible share of
the band), and within 1e-4 elsewhere; the Go test checks it so.
"""

import json
import os

import numpy as np
import torch
import torchaudio

SECONDS = 0.4


def signals(rate):
    n = int(SECONDS * rate)
    t = np.arange(n) / rate
    # A linear chirp from 50 Hz to 0.45 rate, amplitude 0.5.
    f0, f1 = 50.0, 0.45 * rate
    chirp = 0.5 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * SECONDS)))
    # Gaussian noise, standard deviation 0.1, seeded by the rate.
    noise = 0.1 * np.random.default_rng(rate).standard_normal(n)
    # 440 Hz at 0.3 for the first half, exact silence after.
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    tone[n // 2:] = 0
    return {"chirp": chirp, "noise": noise, "tone": tone}


def default_params(rate):
    """audio.DefaultMelParams(rate)."""
    hop = 1
    while hop < 1 << 20 and hop * 2 ** 0.5 < rate / 86:
        hop *= 2
    return dict(sample_rate=rate, n_fft=4 * hop, win_length=4 * hop, hop_length=hop,
                window="hann", center=True, power=1.0, n_mels=80, f_min=0.0,
                f_max=rate / 2, mel_scale="slaney", norm="slaney", log_base="e",
                floor=1e-5)


def tacotron_params():
    """audio.TacotronMelParams()."""
    p = default_params(22050)
    p["f_max"] = 8000.0
    return p


def htk_params():
    """The HTK scale without norm, power 2, log10, a window shorter than
    n_fft and f_min > 0: the other path of every switch."""
    return dict(sample_rate=16000, n_fft=512, win_length=400, hop_length=160,
                window="hann", center=True, power=2.0, n_mels=40, f_min=40.0,
                f_max=7600.0, mel_scale="htk", norm="none", log_base="10",
                floor=1e-10)


def nocenter_params():
    """Frames not centred (no padding), slaney scale without norm, power 2."""
    return dict(sample_rate=8000, n_fft=256, win_length=200, hop_length=80,
                window="hann", center=False, power=2.0, n_mels=32, f_min=0.0,
                f_max=4000.0, mel_scale="slaney", norm="none", log_base="e",
                floor=1e-6)


def logmel(x, p, dtype):
    # The window (torch.hann_window) and the filters (melscale_fbanks) are
    # made in the default dtype: float64 makes every step float64, not
    # only the STFT (a float32 window alone moves bands 10 nats below a
    # frame's loudest by 1e-3).
    torch.set_default_dtype(dtype)
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=p["sample_rate"], n_fft=p["n_fft"], win_length=p["win_length"],
        hop_length=p["hop_length"], f_min=p["f_min"], f_max=p["f_max"],
        n_mels=p["n_mels"], window_fn=torch.hann_window, power=p["power"],
        center=p["center"], pad_mode="reflect", norm=None if p["norm"] == "none" else p["norm"],
        mel_scale=p["mel_scale"]).to(dtype)
    torch.set_default_dtype(torch.float32)
    m = mel(torch.from_numpy(x).to(dtype))  # (n_mels, frames)
    m = torch.clamp(m, min=p["floor"])
    m = torch.log(m) if p["log_base"] == "e" else torch.log10(m)
    return m.T.contiguous().numpy()  # (frames, n_mels)


def main():
    cases = []
    inputs = {}
    for rate in (8000, 16000, 22050):
        for name, x in signals(rate).items():
            fn = f"in_{name}_{rate}.f32"
            x = x.astype("<f4")
            x.tofile(fn)
            inputs[(name, rate)] = (fn, x.astype(np.float64))

    def add(case, preset, p, signal, dtype):
        fn_in, x = inputs[(signal, p["sample_rate"])]
        y = logmel(x, p, dtype)
        fn_out = f"out_{case}.f32"
        y.astype("<f4").tofile(fn_out)
        cases.append(dict(name=case, preset=preset, params=p, input=fn_in, output=fn_out,
                          frames=y.shape[0], n_mels=y.shape[1],
                          dtype=str(dtype).removeprefix("torch.")))

    for rate in (8000, 16000, 22050):
        for signal in ("chirp", "noise", "tone"):
            add(f"default_{signal}_{rate}", "default", default_params(rate), signal, torch.float64)
            add(f"default_{signal}_{rate}_torch32", "default", default_params(rate), signal, torch.float32)
    for signal in ("chirp", "noise", "tone"):
        add(f"tacotron_{signal}", "tacotron", tacotron_params(), signal, torch.float64)
        add(f"htk_{signal}", "htk", htk_params(), signal, torch.float64)
        add(f"nocenter_{signal}", "nocenter", nocenter_params(), signal, torch.float64)

    with open("manifest.json", "w") as f:
        json.dump(dict(torch=torch.__version__, torchaudio=torchaudio.__version__,
                       seconds=SECONDS, cases=cases), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    main()
