//! Per-class precision, recall and F1 and the confusion matrix, for the validation part of a
//! training run and for a lab's confirmed cells.

use serde::{Deserialize, Serialize};

/// One class's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// The class's code.
    pub class: String,
    /// Of the cells called this class, the fraction that were (0 when none were called).
    pub precision: f64,
    /// Of the cells of this class, the fraction called it.
    pub recall: f64,
    /// The harmonic mean of the two.
    pub f1: f64,
    /// Cells of this class.
    pub support: u32,
}

/// Figures over a set of (truth, call) pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Per class, in class order.
    pub per_class: Vec<ClassMetrics>,
    /// `confusion[truth][call]`: cells of class `truth` called `call`.
    pub confusion: Vec<Vec<u32>>,
    /// Fraction of all cells called correctly.
    pub accuracy: f64,
}

impl Metrics {
    /// Computes the figures for `pairs` of (true class, called class) indices into `classes`.
    pub fn from_pairs(classes: &[&str], pairs: &[(usize, usize)]) -> Self {
        let n = classes.len();
        let mut confusion = vec![vec![0_u32; n]; n];
        for &(truth, call) in pairs {
            confusion[truth][call] += 1;
        }
        let ratio = |a: u32, b: u32| if b == 0 { 0.0 } else { f64::from(a) / f64::from(b) };
        let per_class = (0..n)
            .map(|c| {
                let hit = confusion[c][c];
                let support: u32 = confusion[c].iter().sum();
                let called: u32 = confusion.iter().map(|row| row[c]).sum();
                let (precision, recall) = (ratio(hit, called), ratio(hit, support));
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                ClassMetrics { class: classes[c].to_owned(), precision, recall, f1, support }
            })
            .collect();
        let correct: u32 = (0..n).map(|c| confusion[c][c]).sum();
        let total = u32::try_from(pairs.len()).unwrap_or(u32::MAX);
        Self { per_class, confusion, accuracy: ratio(correct, total) }
    }

    /// A plain-text table: per-class figures, then the confusion matrix.
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<6} {:>9} {:>7} {:>6} {:>8}",
            "class", "precision", "recall", "F1", "support"
        );
        for c in &self.per_class {
            let _ = writeln!(
                out,
                "{:<6} {:>9.3} {:>7.3} {:>6.3} {:>8}",
                c.class, c.precision, c.recall, c.f1, c.support
            );
        }
        let _ = writeln!(out, "accuracy {:.3}", self.accuracy);
        let _ = write!(out, "{:<6}", "truth\\call");
        for c in &self.per_class {
            let _ = write!(out, " {:>5}", c.class);
        }
        let _ = writeln!(out);
        for (row, c) in self.confusion.iter().zip(&self.per_class) {
            let _ = write!(out, "{:<10}", c.class);
            for n in row {
                let _ = write!(out, " {n:>5}");
            }
            let _ = writeln!(out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_recall_and_f1_come_from_the_confusion_matrix() {
        // Truth A: 3 cells, 2 called A, 1 called B. Truth B: 1 cell, called B.
        let m = Metrics::from_pairs(&["A", "B"], &[(0, 0), (0, 0), (0, 1), (1, 1)]);
        assert_eq!(m.confusion, vec![vec![2, 1], vec![0, 1]]);
        let a = &m.per_class[0];
        assert!((a.precision - 1.0).abs() < 1e-12 && (a.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((a.f1 - 0.8).abs() < 1e-12);
        let b = &m.per_class[1];
        assert!((b.precision - 0.5).abs() < 1e-12 && (b.recall - 1.0).abs() < 1e-12);
        assert!((m.accuracy - 0.75).abs() < 1e-12);
        assert!(m.table().contains("accuracy 0.750"));
    }

    #[test]
    fn a_class_never_called_has_zero_precision_not_nan() {
        let m = Metrics::from_pairs(&["A", "B"], &[(0, 0), (1, 0)]);
        assert!(m.per_class[1].precision.abs() < 1e-12 && m.per_class[1].f1.abs() < 1e-12);
    }
}
