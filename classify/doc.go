// Package classify implements the project's intelligibility check for
// generated audio, a spoken-digit and speaker classifier: if a classifier
// trained on real recordings recognises the digit and the speaker of
// generated ones, the model says what it was asked to say. Two classifiers
// satisfy its Judge interface:
//
//   - Classifier: MFCC features (Davis and Mermelstein 1980, audio.MFCC)
//     summarised over fixed time segments of the utterance, and
//     multinomial logistic regression, trained in seconds.
//   - CNN: a spectrogram CNN on a one-second log-mel window around the
//     utterance's energy (audio.Mel), with two heads (digit, speaker):
//     DenseNet-BC (Huang et al. 2017, arXiv:1608.06993) for the teacher,
//     MobileNet v1 (Howard et al. 2017, arXiv:1704.04861: depthwise-
//     separable convolutions, width multiplier) for the student that
//     `wavenet eval` embeds. Its layers are plain Go on slices with their
//     backward passes: the 2-D, depthwise and pointwise convolutions and
//     the average and global average pooling call package nn's plain
//     functions (nn.Conv2DForward and its backward passes, the one 2-D
//     convolution of the project); BatchNorm with running statistics and
//     a fused ReLU, dropout, the linear heads and the dense blocks'
//     concatenation are here. Inference runs no gorgonia graph (nn brings
//     gorgonia into the import graph, not into the computation); package
//     classify/cnntrain trains them. Saved as config.json (CNNConfig:
//     architecture, features, vocabularies) and model.safetensors
//     (float32, or int8 weights with per-channel scales).
//
// Both peak-normalise an utterance first, so its level says nothing of
// the speaker.
package classify
