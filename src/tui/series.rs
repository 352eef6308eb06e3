//! Chart data: one metric's points, the x axes they can be drawn against, TensorBoard-style
//! debiased EMA smoothing, and min/max downsampling that keeps spikes visible.

use crate::lab::{Run, SeriesPoint};

/// A metric's points for one run, in iteration order, appended to as the trainer writes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub points: Vec<SeriesPoint>,
}

impl Series {
    pub fn new(points: Vec<SeriesPoint>) -> Series {
        Series { points }
    }

    /// Appends a point. A point at or before the last iteration means the run was resumed from
    /// an earlier checkpoint and the lab dropped the repeated steps: drop them here too.
    pub fn push(&mut self, p: SeriesPoint) {
        if self
            .points
            .last()
            .is_some_and(|l| l.iteration >= p.iteration)
        {
            let keep = self.points.partition_point(|q| q.iteration < p.iteration);
            self.points.truncate(keep);
        }
        self.points.push(p);
    }

    pub fn last(&self) -> Option<f64> {
        self.points.last().map(|p| p.value)
    }
}

/// What the charts' x axis measures. Images seen and wall time make runs with different batch
/// sizes comparable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum XAxis {
    #[default]
    Iteration,
    Epoch,
    Images,
    WallTime,
}

/// What the x axes need of a run beyond its row: when it was resumed, oldest first, and how
/// many images its training split holds (None where the lab has not said yet).
#[derive(Clone, Copy, Debug, Default)]
pub struct Timeline<'a> {
    pub resumed_at: &'a [f64],
    pub train_images: Option<i64>,
}

impl XAxis {
    pub fn next(self) -> XAxis {
        match self {
            XAxis::Iteration => XAxis::Epoch,
            XAxis::Epoch => XAxis::Images,
            XAxis::Images => XAxis::WallTime,
            XAxis::WallTime => XAxis::Iteration,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            XAxis::Iteration => "iteration",
            XAxis::Epoch => "epoch",
            XAxis::Images => "images seen",
            XAxis::WallTime => "wall time",
        }
    }

    /// The x of each point of `run`'s series on this axis. On the images axis, the images the
    /// steps saw: an epoch of the seed's random batches ends in a short one, which shows each
    /// training image once, where the run's training images are known. On the wall-time axis,
    /// time spent training, as a run's duration counts it: each pause between the last point
    /// before a resume and the resume is left out.
    pub fn xs(self, run: &Run, timeline: Timeline, points: &[SeriesPoint]) -> Vec<f64> {
        let Timeline {
            resumed_at,
            train_images,
        } = timeline;
        let t0 = run
            .started_at
            .or_else(|| points.first().map(|p| p.wall_time))
            .unwrap_or(0.0);
        let ipe = run.iters_per_epoch.filter(|&n| n > 0);
        let (mut paused, mut resumes, mut last) = (0.0, resumed_at.iter().peekable(), t0);
        points
            .iter()
            .map(|p| match self {
                XAxis::Iteration => p.iteration as f64,
                XAxis::Epoch => match ipe {
                    Some(n) => p.iteration as f64 / n as f64,
                    None => p.epoch as f64,
                },
                XAxis::Images => {
                    let batch = run.hyper.batch_size;
                    match (ipe, train_images) {
                        (Some(n), Some(images)) if run.hyper.sampler == "random" => {
                            let (epochs, steps) = (p.iteration / n, p.iteration % n);
                            (epochs * images + (steps * batch).min(images)) as f64
                        }
                        _ => (p.iteration * batch) as f64,
                    }
                }
                XAxis::WallTime => {
                    while let Some(at) = resumes.next_if(|&&at| p.wall_time >= at) {
                        paused += (at - last).max(0.0);
                    }
                    last = p.wall_time;
                    (p.wall_time - t0 - paused).max(0.0)
                }
            })
            .collect()
    }

    /// A tick label: `12k` images, `3.5` epochs, `4m10s`.
    pub fn tick(self, x: f64) -> String {
        match self {
            XAxis::Epoch => format!("{x:.1}"),
            XAxis::WallTime => crate::format::duration(x),
            XAxis::Iteration | XAxis::Images => compact(x),
        }
    }
}

/// `950`, `12.5k`, `3.2M`.
pub fn compact(x: f64) -> String {
    let a = x.abs();
    if a >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", x / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// TensorBoard's smoothing: an exponential moving average whose start is debiased, so the
/// first points are not dragged towards zero. `weight` is in [0, 1); 0 returns the input.
pub fn ema(values: &[f64], weight: f64) -> Vec<f64> {
    let mut last = 0.0;
    let mut n = 0i32;
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                return v;
            }
            last = last * weight + (1.0 - weight) * v;
            n += 1;
            let debias = 1.0 - weight.powi(n);
            if debias > 0.0 {
                last / debias
            } else {
                v
            }
        })
        .collect()
}

/// Whether `metric` is smoothed when smoothing is on. Not the learning rate: a schedule the
/// trainer sets, not a noisy measurement; its average only lags the schedule's steps, and of a
/// constant rate it leaves float rounding that the y axis's autoscale blew up into spikes.
pub fn smoothed(metric: &str) -> bool {
    metric != crate::lab::metric::LR
}

/// Reduces `points` (sorted by x) to at most `2 * buckets + 2` points by keeping, in each
/// bucket, the lowest and the highest point: a one-iteration loss spike still shows. The first
/// and last points are always kept, so the x axis spans the whole series.
pub fn downsample_minmax(points: &[(f64, f64)], buckets: usize) -> Vec<(f64, f64)> {
    let buckets = buckets.max(1);
    if points.len() <= 2 * buckets {
        return points.to_vec();
    }
    let mut out = Vec::with_capacity(2 * buckets);
    for b in 0..buckets {
        let lo = b * points.len() / buckets;
        let hi = ((b + 1) * points.len() / buckets).min(points.len());
        let chunk = &points[lo..hi];
        let (mut imin, mut imax) = (0, 0);
        for (i, p) in chunk.iter().enumerate() {
            if p.1 < chunk[imin].1 {
                imin = i;
            }
            if p.1 > chunk[imax].1 {
                imax = i;
            }
        }
        match imin.cmp(&imax) {
            std::cmp::Ordering::Less => out.extend([chunk[imin], chunk[imax]]),
            std::cmp::Ordering::Greater => out.extend([chunk[imax], chunk[imin]]),
            std::cmp::Ordering::Equal => {
                if let Some(p) = chunk.get(imin) {
                    out.push(*p);
                }
            }
        }
    }
    if let (Some(&first), Some(&kept)) = (points.first(), out.first()) {
        if kept != first {
            out.insert(0, first);
        }
    }
    if let (Some(&last), Some(&kept)) = (points.last(), out.last()) {
        if kept != last {
            out.push(last);
        }
    }
    out
}

/// One line ready to draw: the raw points and, with smoothing on, the smoothed ones, both
/// downsampled to the chart's resolution and without non-finite values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    pub raw: Vec<(f64, f64)>,
    pub smooth: Option<Vec<(f64, f64)>>,
}

impl Line {
    pub fn build(
        run: &Run,
        timeline: Timeline,
        series: &Series,
        axis: XAxis,
        smoothing: Option<f64>,
        buckets: usize,
    ) -> Line {
        let finite: Vec<SeriesPoint> = series
            .points
            .iter()
            .copied()
            .filter(|p| p.value.is_finite())
            .collect();
        let xs = axis.xs(run, timeline, &finite);
        let raw: Vec<(f64, f64)> = xs
            .iter()
            .copied()
            .zip(finite.iter().map(|p| p.value))
            .collect();
        let smooth = smoothing.map(|w| {
            let ys = ema(&finite.iter().map(|p| p.value).collect::<Vec<_>>(), w);
            let pts: Vec<(f64, f64)> = xs.iter().copied().zip(ys).collect();
            downsample_minmax(&pts, buckets)
        });
        Line {
            raw: downsample_minmax(&raw, buckets),
            smooth,
        }
    }

    /// (min x, max x, min y, max y) over the drawn points.
    pub fn bounds(&self) -> Option<[f64; 4]> {
        let all = self.raw.iter().chain(self.smooth.iter().flatten());
        all.fold(None, |acc, &(x, y)| {
            Some(match acc {
                None => [x, x, y, y],
                Some([x0, x1, y0, y1]) => [x0.min(x), x1.max(x), y0.min(y), y1.max(y)],
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::{point, run};

    /// The learning rate is drawn as set, smoothing on or off; measurements are smoothed.
    #[test]
    fn a_schedule_is_not_smoothed() {
        use crate::lab::metric;
        assert!(!smoothed(metric::LR));
        for m in [metric::TRAIN_LOSS, metric::DIST_AP, metric::IMAGES_PER_SEC] {
            assert!(smoothed(m), "{m}");
        }
    }

    #[test]
    fn ema_is_debiased_like_tensorboard() {
        // TensorBoard, weight 0.6 on [1, 1, 1]: the debiased EMA of a constant is the constant.
        let s = ema(&[1.0, 1.0, 1.0], 0.6);
        for v in s {
            assert!((v - 1.0).abs() < 1e-12);
        }
        // By hand: last = 0.4*2 = 0.8, /0.4 = 2; last = 0.48+0.4*4 = 2.08, /(1-0.36) = 3.25.
        let s = ema(&[2.0, 4.0], 0.6);
        assert!((s[0] - 2.0).abs() < 1e-12);
        assert!((s[1] - 3.25).abs() < 1e-12);
        assert_eq!(ema(&[3.0, 5.0], 0.0), vec![3.0, 5.0]);
    }

    #[test]
    fn downsampling_keeps_a_single_spike() {
        let mut pts: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, 1.0)).collect();
        pts[7_777].1 = 50.0;
        pts[1_234].1 = -3.0;
        let d = downsample_minmax(&pts, 100);
        assert!(d.len() <= 202, "{}", d.len());
        assert!(d.contains(&(7_777.0, 50.0)));
        assert!(d.contains(&(1_234.0, -3.0)));
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0), "x stays sorted");
        // The ends stay, whatever their values: the x axis covers the whole run.
        let wavy: Vec<(f64, f64)> = (1..=570).map(|i| (i as f64, (i as f64).sin())).collect();
        let d = downsample_minmax(&wavy, 40);
        assert_eq!(d.first(), Some(&(1.0, 1f64.sin())));
        assert_eq!(d.last(), Some(&(570.0, 570f64.sin())));
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0), "x stays sorted");
        let few = [(0.0, 1.0), (1.0, 2.0)];
        assert_eq!(downsample_minmax(&few, 100), few.to_vec());
    }

    #[test]
    fn x_axes_make_batch_sizes_comparable() {
        let mut r = run(1, "a", "m");
        r.hyper.batch_size = 16;
        r.iters_per_epoch = Some(50);
        r.started_at = Some(1000.0);
        let mut p = point(100, 0.5);
        p.wall_time = 1060.0;
        let t = Timeline::default();
        assert_eq!(XAxis::Iteration.xs(&r, t, &[p]), vec![100.0]);
        assert_eq!(XAxis::Epoch.xs(&r, t, &[p]), vec![2.0]);
        assert_eq!(XAxis::Images.xs(&r, t, &[p]), vec![1600.0]);
        assert_eq!(XAxis::WallTime.xs(&r, t, &[p]), vec![60.0]);
        // The seed's random batches: 790 training images make 50 batches of 16, the last of 6.
        r.hyper.sampler = "random".into();
        let known = Timeline {
            train_images: Some(790),
            ..t
        };
        let at = |it| XAxis::Images.xs(&r, known, &[point(it, 0.5)])[0];
        assert_eq!(
            [at(49), at(50), at(100), at(101)],
            [784.0, 790.0, 1580.0, 1596.0]
        );
        // P×K batches are whole.
        r.hyper.sampler = "pk".into();
        assert_eq!(XAxis::Images.xs(&r, known, &[p]), vec![1600.0]);
        assert_eq!(
            XAxis::Iteration.next().next().next().next(),
            XAxis::Iteration
        );
        assert_eq!(compact(12_500.0), "12k");
        assert_eq!(compact(3_200_000.0), "3.2M");
    }

    /// A run that trained 100 s, sat stopped for an hour, trained 100 s more, sat stopped
    /// again and trained on: the wall-time axis counts training time, as its duration does,
    /// not the hours.
    #[test]
    fn the_wall_time_axis_leaves_out_the_pauses_before_resumes() {
        let mut r = run(1, "a", "m");
        r.started_at = Some(1000.0);
        let at = |wall: f64| {
            let mut p = point(1, 0.5);
            p.wall_time = wall;
            p
        };
        let points = [1050.0, 1100.0, 4760.0, 4800.0, 9000.0].map(at);
        let resumed = Timeline {
            resumed_at: &[4700.0, 8900.0],
            train_images: None,
        };
        let xs = XAxis::WallTime.xs(&r, resumed, &points);
        assert_eq!(xs, vec![50.0, 100.0, 160.0, 200.0, 300.0]);
    }

    #[test]
    fn a_resumed_run_replaces_its_repeated_steps() {
        let mut s = Series::default();
        for i in 1..=10 {
            s.push(point(i, i as f64));
        }
        s.push(point(7, 70.0));
        assert_eq!(s.points.len(), 7);
        assert_eq!(s.last(), Some(70.0));
    }

    #[test]
    fn lines_skip_non_finite_values_and_smooth_on_request() {
        let r = run(1, "a", "m");
        let s = Series::new(vec![point(1, 1.0), point(2, f64::NAN), point(3, 3.0)]);
        let l = Line::build(
            &r,
            Timeline::default(),
            &s,
            XAxis::Iteration,
            Some(0.5),
            100,
        );
        assert_eq!(l.raw, vec![(1.0, 1.0), (3.0, 3.0)]);
        assert_eq!(l.smooth.as_ref().map(Vec::len), Some(2));
        assert_eq!(l.bounds(), Some([1.0, 3.0, 1.0, 3.0]));
    }
}
