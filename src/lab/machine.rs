//! The computer a run started on, beyond its host name: the CPU, its caches and SIMD, the threads
//! the kernels used and the operating system.
//!
//! The caches and the SIMD matter to the record: the matrix kernels (gemm) size their blocks
//! along the summed dimension from the L1 cache's size and associativity, and pick their
//! instructions at run time, so the order in which they add depends on both. The same seed on
//! two machines that differ there gives curves that agree for a step or two and then part in
//! the last bits; on one machine it gives the same run bit for bit.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// What [`Machine::current`] could find out; `None` where the platform does not say (and for
/// runs recorded before the lab kept it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU's model name ("AMD EPYC 7B13").
    pub cpu_model: Option<String>,
    /// Threads the CPU kernels used (rayon's pool).
    pub cpu_threads: Option<i64>,
    /// The widest SIMD the CPU offers ("avx512f", "avx2+fma", "neon"); the kernels may use less
    /// (this build's gemm stops at avx2+fma).
    pub cpu_simd: Option<String>,
    /// The data caches of CPU 0: "L1d 48K 12-way, L2 1024K 16-way, L3 32768K 16-way".
    pub cpu_cache: Option<String>,
    /// Operating system, kernel release and architecture ("linux 6.1.0-18-amd64 x86_64").
    pub os: Option<String>,
}

impl Machine {
    /// The machine a row of runs or resumes records in its `cpu_model`, `cpu_threads`,
    /// `cpu_simd`, `cpu_cache` and `os` columns.
    pub(super) fn from_row(row: &rusqlite::Row) -> rusqlite::Result<Machine> {
        Ok(Machine {
            cpu_model: row.get("cpu_model")?,
            cpu_threads: row.get("cpu_threads")?,
            cpu_simd: row.get("cpu_simd")?,
            cpu_cache: row.get("cpu_cache")?,
            os: row.get("os")?,
        })
    }

    /// This machine, as a run started now would record it.
    pub fn current() -> Machine {
        Machine {
            cpu_model: std::fs::read_to_string("/proc/cpuinfo")
                .ok()
                .and_then(|s| cpu_model(&s)),
            cpu_threads: Some(rayon::current_num_threads() as i64),
            cpu_simd: simd(),
            cpu_cache: cpu_cache(Path::new("/sys/devices/system/cpu/cpu0/cache")),
            os: Some(os(
                std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()
            )),
        }
    }

    /// One line for people: "AMD EPYC · 2 threads · avx512f · L1d 48K 12-way, … · linux 6.1.0
    /// x86_64", or `None` when nothing was recorded.
    pub fn describe(&self) -> Option<String> {
        join([self.cpu(), self.system()])
    }

    /// The processor: "AMD EPYC · 2 threads · avx512f".
    pub fn cpu(&self) -> Option<String> {
        join([
            self.cpu_model.clone(),
            self.cpu_threads.map(|t| format!("{t} threads")),
            self.cpu_simd.clone(),
        ])
    }

    /// Its caches and the system: "L1d 48K 12-way, L2 1024K 16-way · linux 6.1.0 x86_64".
    pub fn system(&self) -> Option<String> {
        join([self.cpu_cache.clone(), self.os.clone()])
    }
}

fn join<const N: usize>(parts: [Option<String>; N]) -> Option<String> {
    let parts: Vec<String> = parts.into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// The first "model name" (x86) or "Model"/"Hardware" (Arm boards) of a /proc/cpuinfo.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Model", "Hardware"].iter().find_map(|key| {
        cpuinfo.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            let v = v.trim();
            (k.trim() == *key && !v.is_empty()).then(|| v.to_string())
        })
    })
}

/// The data and unified caches listed under a Linux `/sys/devices/system/cpu/cpuN/cache`, by
/// level; `None` where there is no such folder.
fn cpu_cache(dir: &Path) -> Option<String> {
    let read = |index: &Path, name: &str| {
        std::fs::read_to_string(index.join(name))
            .ok()
            .map(|s| s.trim().to_string())
    };
    let mut caches: Vec<(String, String)> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("index"))
        })
        .filter_map(|index| {
            let level = read(&index, "level")?;
            let kind = read(&index, "type")?;
            let name = match kind.as_str() {
                "Data" => format!("L{level}d"),
                "Unified" => format!("L{level}"),
                _ => return None,
            };
            let mut text = format!("{name} {}", read(&index, "size")?);
            if let Some(ways) = read(&index, "ways_of_associativity").filter(|w| w != "0") {
                text.push_str(&format!(" {ways}-way"));
            }
            Some((level, text))
        })
        .collect();
    caches.sort();
    (!caches.is_empty()).then(|| {
        caches
            .into_iter()
            .map(|(_, t)| t)
            .collect::<Vec<_>>()
            .join(", ")
    })
}

fn os(kernel_release: Option<String>) -> String {
    let release = kernel_release.map(|r| r.trim().to_string());
    [
        Some(std::env::consts::OS.to_string()),
        release.filter(|r| !r.is_empty()),
        Some(std::env::consts::ARCH.to_string()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
}

#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
fn simd() -> Option<String> {
    let level = if is_x86_feature_detected!("avx512f") {
        "avx512f"
    } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        "avx2+fma"
    } else if is_x86_feature_detected!("avx") {
        "avx"
    } else {
        "sse2"
    };
    Some(level.to_string())
}

#[cfg(target_arch = "aarch64")]
fn simd() -> Option<String> {
    Some("neon".to_string())
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64")))]
fn simd() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_model_is_the_first_model_name_of_cpuinfo() {
        let x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 1\n\
                   model name\t: AMD EPYC 7B13\nflags\t\t: fpu avx2\n\n\
                   processor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_model(x86).as_deref(), Some("AMD EPYC 7B13"));
        // Arm boards name the machine, not the core; "model" (a number on x86) is not it.
        let arm = "processor\t: 0\nBogoMIPS\t: 108.00\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n";
        assert_eq!(
            cpu_model(arm).as_deref(),
            Some("Raspberry Pi 4 Model B Rev 1.4")
        );
        assert_eq!(cpu_model("processor\t: 0\nmodel name\t:\n"), None);
    }

    #[test]
    fn caches_are_the_data_and_unified_ones_by_level() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        for (index, level, kind, size, ways) in [
            (0, "1", "Data", "48K", "12"),
            (1, "1", "Instruction", "32K", "8"),
            (2, "2", "Unified", "1024K", "16"),
            (3, "3", "Unified", "32768K", "0"),
        ] {
            let d = dir.path().join(format!("index{index}"));
            std::fs::create_dir(&d)?;
            for (name, value) in [
                ("level", level),
                ("type", kind),
                ("size", size),
                ("ways_of_associativity", ways),
            ] {
                std::fs::write(d.join(name), format!("{value}\n"))?;
            }
        }
        std::fs::create_dir(dir.path().join("power"))?;
        assert_eq!(
            cpu_cache(dir.path()).as_deref(),
            Some("L1d 48K 12-way, L2 1024K 16-way, L3 32768K")
        );
        assert_eq!(cpu_cache(&dir.path().join("missing")), None);
        Ok(())
    }

    #[test]
    fn the_os_names_system_release_and_architecture() {
        let os = os(Some("6.1.0-18-amd64\n".into()));
        assert_eq!(
            os,
            format!(
                "{} 6.1.0-18-amd64 {}",
                std::env::consts::OS,
                std::env::consts::ARCH
            )
        );
        assert!(!super::os(Some(" \n".into())).contains("  "));
    }

    #[test]
    fn this_machine_is_described_with_the_threads_the_kernels_use() {
        let m = Machine::current();
        assert_eq!(m.cpu_threads, Some(rayon::current_num_threads() as i64));
        let line = m.describe().expect("something is always known");
        assert!(line.contains(&format!("{} threads", rayon::current_num_threads())));
        assert!(line.contains(std::env::consts::ARCH), "{line}");
        assert_eq!(Machine::default().describe(), None);
    }
}
