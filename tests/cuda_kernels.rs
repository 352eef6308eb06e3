//! facenet-lab's CUDA kernels (`src/cuda/kernels.cu`) on the CPU: compiled as C++ under an
//! emulation of CUDA's threads, barriers and warp shuffles (`tests/cuda_emulation/shim.h`) and
//! run against their definitions written as plain loops (`tests/cuda_emulation/kernels.cpp`).
//! CI has no GPU and never builds the `cuda` feature, so this is where every change to the
//! kernels' indexing and reductions is checked; `facenet-lab bench --check` checks the compiled
//! kernels against the CPU's ops on a GPU.

use std::process::Command;

#[test]
fn the_cuda_kernels_compute_their_definitions_under_emulation() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = dir.path().join("kernels");
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let compile = |flags: &[&str], source: &str, exe: &std::path::Path| {
        Command::new(&cxx)
            .args(["-std=c++20", "-O1", "-pthread"])
            .args(flags)
            .arg("-I")
            .arg(format!("{root}/src/cuda"))
            .arg(source)
            .arg("-o")
            .arg(exe)
            .output()
            .unwrap_or_else(|e| {
                panic!("{cxx} (a C++20 compiler) is needed to emulate the kernels: {e}")
            })
    };
    // Under AddressSanitizer and UBSan: a read past a buffer, which on a GPU is an illegal
    // address and here reads whatever lies there, stops the run and names the kernel. Where
    // the sanitizers cannot work (no runtime, or one that cannot map its shadow memory), as the
    // probe below shows, the plain emulation runs instead.
    let sanitized = [
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        "-fno-omit-frame-pointer",
    ];
    // Leaks are not what this looks for, and LeakSanitizer cannot run under every tracer.
    let asan_options = "detect_leaks=0";
    // They work where a program that reads one float past its buffer, built with them, is
    // stopped and the overflow named, as a kernel's would be.
    let probe = dir.path().join("probe");
    let past = dir.path().join("past.cpp");
    std::fs::write(
        &past,
        "#include <vector>\nint main() { std::vector<float> v(4); volatile int i = 4; \
         return v.data()[i] > 0; }\n",
    )
    .expect("write the probe");
    let sanitizers_work = compile(&sanitized, &past.to_string_lossy(), &probe)
        .status
        .success()
        && Command::new(&probe)
            .env("ASAN_OPTIONS", asan_options)
            .output()
            .is_ok_and(|out| {
                !out.status.success()
                    && String::from_utf8_lossy(&out.stderr).contains("heap-buffer-overflow")
            });
    let flags: &[&str] = if sanitizers_work {
        &sanitized
    } else {
        println!("note: {cxx}'s sanitizers do not work here; the kernels run unsanitized");
        &[]
    };
    let built = compile(
        flags,
        &format!("{root}/tests/cuda_emulation/kernels.cpp"),
        &exe,
    );
    assert!(
        built.status.success(),
        "compiling the emulated kernels failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let run = Command::new(&exe)
        .env("ASAN_OPTIONS", asan_options)
        .output()
        .expect("run the emulated kernels");
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "kernels off their definitions, or out of their buffers:\n{report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Every case ran: 5 batch norms x 3 outputs, 2 channel affine maps, 6 unrollings x 2, 4
    // poolings x 2, ReLU 2, Adam 3, the batch sum 1, the batch norms' order of adds 6.
    let ok = report.lines().filter(|l| l.ends_with(" ok")).count();
    assert_eq!(ok, 15 + 2 + 12 + 8 + 2 + 3 + 1 + 6, "{report}");
    assert!(report.trim_end().ends_with("0 failed"), "{report}");
}
