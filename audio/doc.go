// Package audio implements WAV and FLAC decoding over io.Reader (DecodeAny
// tells them apart by their magic bytes), every output encoding over
// io.Writer (WAV, FLAC, raw 16-bit PCM, G.711 mu-law and A-law, raw
// float32: Encoding, AppendEncoded, Encoder), band-limited resampling,
// batch and streaming, silence trimming, peak normalisation, DC removal,
// log-mel spectrograms (the vocoder's features: MelParams, Mel, LogMel) and
// MFCCs, on plain []float32 samples.
//
// G.711 follows ITU-T Recommendation G.711 (1988) as Sun Microsystems'
// public-domain g711.c computes it (linear2ulaw, linear2alaw). PCM16 is
// round(clip(v, -1, 1) * 32767) in every encoding that holds 16-bit samples.
//
// FLAC output follows RFC 9639 (Free Lossless Audio Codec, 2024) with the
// encoder of github.com/mewkiz/flac: 16-bit mono, fixed-blocksize frames
// of 4096 samples sent as each fills, fixed predictors (orders 0 to 4)
// with Rice-coded residuals; a streamed STREAMINFO declares the length
// and MD5 unknown (0), as section 8.2 allows.
//
// WAV follows the Microsoft RIFF/WAVE specification ("Multimedia Programming
// Interface and Data Specifications 1.0", 1991, and the
// WAVE_FORMAT_EXTENSIBLE addendum): PCM 8 (unsigned), 16, 24 and 32-bit,
// IEEE float 32 and 64-bit, plain or extensible, any channel count.
//
// The decoder parses the RIFF chunk list itself with bounded reads instead
// of handing the stream to github.com/go-audio/wav: that package allocates
// whatever a LIST, cue or smpl chunk header claims (make([]byte, ch.Size)),
// so a 1 KB file whose header claims 4 GB makes it allocate 4 GB, and it
// needs an io.ReadSeeker. Here memory grows only with bytes actually read,
// every problem with the input is a *FormatError naming it, and nothing the
// input says can make the decoder panic. go-audio types stay at this edge:
// Clip.IntBuffer and FromIntBuffer convert to and from audio.IntBuffer, and
// the tests check this decoder against go-audio/wav on files go-audio
// writes.
//
// FLAC (https://xiph.org/flac/format.html, RFC 9639) is decoded by the
// pure-Go github.com/mewkiz/flac, 4 to 24 bits per sample (the decoder does
// not read 32-bit frames); its errors and any panic on a corrupt stream
// become *FormatErrors with Codec "flac", and the path is fuzzed.
//
// Resampling, batch (Resample) and streaming (StreamResampler), uses one
// polyphase Kaiser-windowed sinc filter (J. F. Kaiser, "Nonrecursive
// digital filter design using the I0-sinh window function", 1974; J. O.
// Smith, "Digital Audio Resampling", https://ccrma.stanford.edu/~jos/resample/):
// 16 zero crossings, cutoff at 0.945 of the lower Nyquist frequency, Kaiser
// beta 8.6; streaming and batch give the same samples bit for bit.
//
// LogMel computes what torchaudio.transforms.MelSpectrogram (torchaudio
// 0.13, https://pytorch.org/audio/0.13.0/generated/torchaudio.transforms.MelSpectrogram.html)
// followed by torch.log(torch.clamp(m, min=floor)) computes, for the
// parameters a model's config stores (MelParams, JSON names as torchaudio's):
// a periodic Hann window of win_length centred in n_fft, centred frames with
// reflect padding, |STFT|^power (1 or 2), triangular filters on the slaney
// (M. Slaney, "Auditory Toolbox", Interval Research Technical Report 1998-010)
// or HTK (S. Young et al., "The HTK Book") mel scale, slaney norm or none,
// log base e or 10. DefaultMelParams(rate) are the features of Tacotron 2 and
// HiFi-GAN (J. Shen et al., "Natural TTS synthesis by conditioning WaveNet on
// mel spectrogram predictions", ICASSP 2018) scaled to the rate;
// TacotronMelParams are exactly NVIDIA's Tacotron 2 features, so mels a
// Python front end exports can be fed as they are. The tests hold it to
// 1e-4 (absolute, on the log values) against torchaudio on golden vectors
// written once by testdata/mel/gen.py. MelSpectrogram (dB, HTK filters in FFT
// bins, no padding) and MFCC are the older features that package classify
// was trained on; they are unchanged.
package audio
