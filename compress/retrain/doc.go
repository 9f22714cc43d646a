// Package retrain implements the compression flows that train: iterative
// magnitude pruning with fine-tuning under fixed masks (Han et al. 2015,
// "Learning both Weights and Connections for Efficient Neural Networks";
// the cubic sparsity schedule of Zhu and Gupta 2017, "To prune, or not to
// prune"; masks as torch.nn.utils.prune keeps them), and knowledge
// distillation of a WaveNet student from a fixed WaveNet teacher (Hinton,
// Vinyals and Dean 2015, "Distilling the Knowledge in a Neural Network").
// It builds on package train (gorgonia graphs), so unlike package compress
// it is not for the serving path.
//
// Prune, DistillStudents and Report are the whole flows behind `wavenet
// compress prune`, `distill` and `report` (scoring on a validation split
// with Validate, generation speed with compress.MeasureSpeed), reporting
// progress through a ProgressFunc.
package retrain
