package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/synth"
)

// GoogleSynthesizeRequest is the body of POST /v1/text:synthesize, Google
// Cloud Text-to-Speech's text:synthesize
// (https://cloud.google.com/text-to-speech/docs/reference/rest/v1/text/synthesize).
type GoogleSynthesizeRequest struct {
	Input       GoogleInput       `json:"input"`
	Voice       GoogleVoiceParams `json:"voice"`
	AudioConfig GoogleAudioConfig `json:"audioConfig"`
}

// GoogleInput is the text to say: exactly one of Text (read by
// speech.Normalize) and SSML (speech.ParseSSML's subset: say-as
// characters/cardinal/telephone, break, s, p).
type GoogleInput struct {
	Text string `json:"text,omitempty"`
	SSML string `json:"ssml,omitempty"`
}

// GoogleVoiceParams selects the voice: LanguageCode must be en-US; Name
// is a name from GET /v1/voices ("en-US-MODEL-SPEAKER"; left out: the
// default model's first speaker); SSMLGender is accepted and ignored.
type GoogleVoiceParams struct {
	LanguageCode string `json:"languageCode"`
	Name         string `json:"name,omitempty"`
	SSMLGender   string `json:"ssmlGender,omitempty"`
}

// GoogleAudioConfig is the output: AudioEncoding LINEAR16 (a WAV file,
// as Google returns it), PCM (raw 16-bit little-endian), MULAW and ALAW
// (G.711 bytes in a WAV file, codec 7 or 6, as Google returns them) or
// FLAC (this server's addition); MP3, OGG_OPUS and M4A are a 400.
// SampleRateHertz resamples (0: the voice's natural rate); SpeakingRate
// is 0.25 to 4 (0: 1), applied without changing the pitch; VolumeGainDb
// is -96 to 16, the samples clipped; Pitch must be 0 (the model cannot
// change it).
type GoogleAudioConfig struct {
	AudioEncoding    string   `json:"audioEncoding"`
	SpeakingRate     float64  `json:"speakingRate,omitempty"`
	Pitch            float64  `json:"pitch,omitempty"`
	VolumeGainDb     float64  `json:"volumeGainDb,omitempty"`
	SampleRateHertz  int      `json:"sampleRateHertz,omitempty"`
	EffectsProfileID []string `json:"effectsProfileId,omitempty"`
}

// GoogleSynthesizeResponse is the answer of POST /v1/text:synthesize: the
// encoded audio, base64 in JSON.
type GoogleSynthesizeResponse struct {
	AudioContent []byte `json:"audioContent"`
}

// GoogleVoice is one voice of GET /v1/voices: a (model, speaker) pair of
// a model that says text.
type GoogleVoice struct {
	LanguageCodes          []string `json:"languageCodes"`
	Name                   string   `json:"name"`
	SSMLGender             string   `json:"ssmlGender"`
	NaturalSampleRateHertz int      `json:"naturalSampleRateHertz"`
}

// GoogleLanguage is the one language of the voices: the models say the
// English digits.
const GoogleLanguage = "en-US"

// googleEncodings maps audioEncoding to the encodings made.
var googleEncodings = map[string]audio.Encoding{
	"LINEAR16": audio.EncodingWAV, "PCM": audio.EncodingPCM16, "MULAW": audio.EncodingMulaw,
	"ALAW": audio.EncodingAlaw, "FLAC": audio.EncodingFLAC,
}

// GoogleVoiceName is the voice name of model id's speaker:
// "en-US-ID-SPEAKER" ("en-US-ID" for a model without speakers).
func GoogleVoiceName(id, speaker string) string {
	if speaker == "" {
		return GoogleLanguage + "-" + id
	}
	return GoogleLanguage + "-" + id + "-" + speaker
}

// googleVoice is a voice with what a request needs of it.
type googleVoice struct {
	GoogleVoice
	model, speaker string
}

// googleVoices lists every (model, speaker) of the models that say text,
// in model id order.
func (s *Server) googleVoices() []googleVoice {
	var out []googleVoice
	for _, id := range s.engine.IDs() {
		b, ok := s.engine.Bundle(id)
		if !ok || b.Model.Config.LabelCondition() < 0 || b.Model.Config.Local != nil {
			continue
		}
		sp := speakers(b)
		if sp == nil {
			sp = []string{""}
		}
		for _, v := range sp {
			out = append(out, googleVoice{GoogleVoice: GoogleVoice{LanguageCodes: []string{GoogleLanguage},
				Name: GoogleVoiceName(id, v), SSMLGender: "SSML_VOICE_GENDER_UNSPECIFIED",
				NaturalSampleRateHertz: b.Model.Config.SampleRate}, model: id, speaker: v})
		}
	}
	return out
}

func (s *Server) handleGoogleVoices(c echo.Context) error {
	out := struct {
		Voices []GoogleVoice `json:"voices"`
	}{Voices: []GoogleVoice{}}
	lang := c.QueryParam("languageCode")
	if lang != "" && !strings.EqualFold(lang, GoogleLanguage) && !strings.EqualFold(lang, "en") {
		return c.JSON(http.StatusOK, out) // Google answers an unknown language with no voices
	}
	for _, v := range s.googleVoices() {
		out.Voices = append(out.Voices, v.GoogleVoice)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleGoogleSynthesize(c echo.Context) error {
	var r GoogleSynthesizeRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	seed, err := seedFromHeader(c)
	if err != nil {
		return err
	}
	in, ac := r.Input, r.AudioConfig
	switch {
	case (in.Text == "") == (in.SSML == ""):
		return paramError("input", "give exactly one of input.text and input.ssml")
	case !strings.EqualFold(r.Voice.LanguageCode, GoogleLanguage):
		return paramError("voice", "voice.languageCode is %q; the voices speak %q only (GET /v1/voices lists them)", r.Voice.LanguageCode, GoogleLanguage)
	case ac.Pitch != 0:
		return paramError("audioConfig", "audioConfig.pitch is %v; the model cannot change its pitch: send 0", ac.Pitch)
	case ac.SpeakingRate != 0 && !(ac.SpeakingRate >= audio.MinSpeed && ac.SpeakingRate <= audio.MaxSpeed):
		return paramError("audioConfig", "audioConfig.speakingRate is %v; want %v to %v (1: normal)", ac.SpeakingRate, audio.MinSpeed, audio.MaxSpeed)
	case ac.SampleRateHertz != 0 && (ac.SampleRateHertz < synth.MinOutputRate || ac.SampleRateHertz > synth.MaxOutputRate):
		return paramError("audioConfig", "audioConfig.sampleRateHertz is %d; want %d to %d (or leave it out for the voice's naturalSampleRateHertz)", ac.SampleRateHertz, synth.MinOutputRate, synth.MaxOutputRate)
	case !(ac.VolumeGainDb >= synth.MinGainDB && ac.VolumeGainDb <= synth.MaxGainDB):
		return paramError("audioConfig", "audioConfig.volumeGainDb is %v; want %d to %d", ac.VolumeGainDb, synth.MinGainDB, synth.MaxGainDB)
	}
	enc, ok := googleEncodings[ac.AudioEncoding]
	if !ok {
		names := make([]string, 0, len(googleEncodings))
		for n := range googleEncodings {
			names = append(names, n)
		}
		slices.Sort(names)
		return paramError("audioConfig", "audioConfig.audioEncoding is %q; this server makes %s (not MP3, OGG_OPUS or M4A)", ac.AudioEncoding, quoteList(names))
	}
	voices := s.googleVoices()
	var v *googleVoice
	if r.Voice.Name == "" {
		id, _, err := s.engine.Pick(c.Request().Context(), "")
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(voices, func(v googleVoice) bool { return v.model == id }); i >= 0 {
			v = &voices[i]
		}
	} else if i := slices.IndexFunc(voices, func(v googleVoice) bool { return v.Name == r.Voice.Name }); i >= 0 {
		v = &voices[i]
	}
	if v == nil {
		names := make([]string, len(voices))
		for i, v := range voices {
			names[i] = v.Name
		}
		return paramError("voice", "voice.name %q is not a voice of this server; GET /v1/voices lists them (%s)", r.Voice.Name, strings.Join(names, ", "))
	}
	text, ssml := in.Text, in.SSML != ""
	if ssml {
		text = in.SSML
	}
	id, _, sc, err := s.textScript(c.Request().Context(), v.model, text, ssml)
	if err != nil {
		return err
	}
	syn, err := s.engine.Start(c.Request().Context(), &synth.Request{Model: id, Speaker: v.speaker, Text: sc.Text(),
		Pauses: sc.Pauses, TrailingPause: sc.Trailing, Seed: seed, Format: enc, SampleRate: ac.SampleRateHertz,
		Speed: ac.SpeakingRate, GainDB: ac.VolumeGainDb})
	if err != nil {
		return err
	}
	defer syn.Close()
	x, err := syn.Audio()
	if err != nil {
		return err
	}
	body, err := synth.Encode(syn.Format, syn.Rate, x)
	if err != nil {
		return err
	}
	// Google's MULAW and ALAW come in a WAV container.
	switch syn.Format {
	case audio.EncodingMulaw:
		body = append(audio.WAVHeaderOf(audio.MuLaw8, syn.Rate, len(x)), body...)
	case audio.EncodingAlaw:
		body = append(audio.WAVHeaderOf(audio.ALaw8, syn.Rate, len(x)), body...)
	}
	c.Response().Header().Set("X-Seed", strconv.FormatUint(syn.Seed, 10))
	return c.JSON(http.StatusOK, GoogleSynthesizeResponse{AudioContent: body})
}

// googleStatus is Google's canonical status name of an HTTP status
// (google.rpc.Code).
func googleStatus(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return "NOT_FOUND"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	return "INTERNAL"
}

// googleError is Google's error shape: {"error": {"code", "message",
// "status"}}.
func googleError(e *Error) map[string]any {
	return map[string]any{"error": map[string]any{"code": e.Status, "message": e.Message, "status": googleStatus(e.Status)}}
}
