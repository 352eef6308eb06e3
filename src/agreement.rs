//! How closely two computations of the same thing agree: the relative error `‖a − b‖ / ‖b‖`
//! of one output against its reference, and the bound it must stay within. `bench --check`
//! compares the CUDA kernels with the CPU's ops this way ([`crate::cuda::check`]), and `bench
//! --parity` facenet-lab's training step with PyTorch's ([`crate::train::parity`]).

use candle_core::{DType, Device, Result, Tensor};

use crate::format;

/// One output compared with its reference.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// What was computed: the op or network and its input's shape.
    pub case: String,
    /// The output compared (`y`, `dx`, `gradients`, ...).
    pub output: String,
    pub rel_err: f64,
    /// The most it may be.
    pub tolerance: f64,
}

impl Comparison {
    /// Within the bound, and finite.
    pub fn passed(&self) -> bool {
        self.rel_err.is_finite() && self.rel_err <= self.tolerance
    }
}

/// `‖a − b‖ / ‖b‖` (`‖a‖` where `b` is zero), `b` the reference; NaN anywhere is infinitely
/// wrong, and tensors of different shapes are an error, even with one element count.
pub fn rel_err(a: &Tensor, b: &Tensor) -> Result<f64> {
    Ok(Residual::of(a, b)?.rel_err())
}

/// What a relative error is made of, `‖a − b‖²` and `‖b‖²`. Both add up over the parts of a
/// vector, so the sum of the parts' residuals gives the whole's [`rel_err`] without joining
/// the parts.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Residual {
    diff: f64,
    reference: f64,
}

impl Residual {
    /// `a` against the reference `b`, in f64 on the CPU.
    pub fn of(a: &Tensor, b: &Tensor) -> Result<Residual> {
        if a.dims() != b.dims() {
            candle_core::bail!("shapes differ: {:?} against {:?}", a.dims(), b.dims());
        }
        let f64_cpu = |t: &Tensor| t.to_device(&Device::Cpu)?.to_dtype(DType::F64);
        let (a, b) = (f64_cpu(a)?, f64_cpu(b)?);
        let squared = |t: &Tensor| t.sqr()?.sum_all()?.to_scalar::<f64>();
        Ok(Residual {
            diff: squared(&(&a - &b)?)?,
            reference: squared(&b)?,
        })
    }

    /// See [`rel_err`].
    pub fn rel_err(self) -> f64 {
        let diff = self.diff.sqrt();
        let err = if self.reference > 0.0 {
            diff / self.reference.sqrt()
        } else {
            diff
        };
        if err.is_nan() {
            f64::INFINITY
        } else {
            err
        }
    }
}

impl std::ops::Add for Residual {
    type Output = Residual;

    fn add(self, other: Residual) -> Residual {
        Residual {
            diff: self.diff + other.diff,
            reference: self.reference + other.reference,
        }
    }
}

/// The comparisons as a table, under `what` as the first column's title, a verdict per row;
/// `beside` adds a column of other errors (its title and one value per comparison) before the
/// bound.
pub fn table(what: &str, comparisons: &[Comparison], beside: Option<(&str, &[f64])>) -> String {
    let rows: Vec<Vec<String>> = comparisons
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut row = vec![
                c.case.clone(),
                c.output.clone(),
                format!("{:.1e}", c.rel_err),
            ];
            if let Some((_, errors)) = beside {
                row.push(errors.get(i).map_or("-".into(), |e| format!("{e:.1e}")));
            }
            row.push(format!("{:.1e}", c.tolerance));
            row.push(if c.passed() { "ok" } else { "FAILED" }.to_string());
            row
        })
        .collect();
    let mut headers = vec![what, "output", "relative error"];
    headers.extend(beside.map(|(title, _)| title));
    headers.extend(["at most", "check"]);
    format::table(&headers, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The measure the checks pass or fail on.
    #[test]
    fn relative_errors_are_measured_as_documented() -> Result<()> {
        let t = |v: &[f32], shape: &[usize]| Tensor::from_slice(v, shape, &Device::Cpu);
        let err = rel_err(&t(&[1.0, 2.0], &[2])?, &t(&[1.0, 1.0], &[2])?)?;
        assert!((err - 0.5f64.sqrt()).abs() < 1e-12, "{err}");
        assert_eq!(
            rel_err(&t(&[3.0, 4.0], &[2])?, &t(&[0.0, 0.0], &[2])?)?,
            5.0
        );
        let nan = rel_err(&t(&[f32::NAN, 1.0], &[2])?, &t(&[1.0, 1.0], &[2])?)?;
        assert_eq!(nan, f64::INFINITY);
        // The parts' residuals add up to the whole's.
        let (a, b) = ([1.0, -2.0, 0.5, 3.0], [1.5, -1.0, 0.5, 2.0]);
        let whole = rel_err(&t(&a, &[4])?, &t(&b, &[4])?)?;
        let parts = Residual::of(&t(&a[..1], &[1])?, &t(&b[..1], &[1])?)?
            + Residual::of(&t(&a[1..], &[3])?, &t(&b[1..], &[3])?)?;
        assert!((parts.rel_err() - whole).abs() < 1e-15, "{parts:?} {whole}");
        let square = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2])?;
        let flat = t(&[1.0, 2.0, 3.0, 4.0], &[4])?;
        assert!(
            rel_err(&square, &flat).is_err(),
            "same values, another shape"
        );
        let compared = |rel_err| Comparison {
            case: "op".into(),
            output: "y".into(),
            rel_err,
            tolerance: 1e-5,
        };
        assert!(compared(1e-5).passed() && !compared(1e-3).passed());
        assert!(!compared(nan).passed());
        let table = table("op", &[compared(1e-6), compared(2e-3)], None);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].starts_with("op") && lines[0].contains("relative error"));
        assert!(
            lines[1].contains("1.0e-6") && lines[1].ends_with("ok"),
            "{table}"
        );
        assert!(
            lines[2].contains("2.0e-3") && lines[2].ends_with("FAILED"),
            "{table}"
        );
        let beside = super::table("op", &[compared(1e-6)], Some(("other", &[3e-7])));
        let words: Vec<Vec<&str>> = beside
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(words[0][4..], ["other", "at", "most", "check"], "{beside}");
        assert_eq!(
            words[1][2..],
            ["1.0e-6", "3.0e-7", "1.0e-5", "ok"],
            "{beside}"
        );
        Ok(())
    }
}
