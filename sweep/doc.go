// Package sweep runs a grid of training runs — methods (or named variants) × seeds × values of
// train flags — each cell a `train` + evaluation into its own folder DIR/runs/<cell>/, several at
// once, skipping the cells that finished and resuming the ones that were interrupted.
//
// # Cells
//
// A cell is named <variant>[-<flag><value>…]-seed<S> (varied flags in the order given, values
// made safe for file names); its group — the name without the seed — is what `compare` and
// `report` summarise over seeds. The seed is train's --seed, which draws both the adapter's
// initialisation and the data order (data.Order depends on the seed and epoch only, never on the
// method), so cells of the same seed pair the methods.
//
// # Invariants
//
//   - A cell is finished when its folder holds eval.json (written last, atomically, by train).
//     A finished cell is never run again; an unfinished one is run with --resume, which continues
//     from its newest checkpoint (or from scratch) to the same result as an uninterrupted run.
//   - DIR/runs/<cell>/cell.json records what determines the cell's result (model, data, eval file,
//     method, seed, every train flag). A folder whose cell.json differs from the cell asked for,
//     or a folder without one, is never touched: the sweep stops with an error naming it, before
//     it writes anything or runs any cell.
//   - A failing cell does not stop the others; the sweep reports every failure with its log file.
//   - On cancellation (Ctrl-C) every running cell is asked to stop (SIGINT, on which train saves
//     a checkpoint) and waited for.
package sweep
