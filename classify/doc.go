// Package classify implements a small spoken-digit and speaker classifier:
// MFCC features (Davis and Mermelstein 1980, audio.MFCC) summarised over fixed time
// segments of the utterance, and multinomial logistic regression. It is the
// project's intelligibility check for generated audio: if a classifier
// trained on real recordings recognises the digit and the speaker of
// generated ones, the model says what it was asked to say.
package classify
