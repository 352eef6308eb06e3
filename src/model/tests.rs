//! Tests of the whole networks: shapes, parameter counts (against torchvision), BatchNorm
//! train/eval behaviour and checkpoints, gradients reaching every parameter.
use std::time::Instant;

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::{ModuleT, VarMap};

use super::*;
use crate::train::adam::{Adam, AdamConfig};
use crate::train::params::Params;

/// A network built as the trainer builds it, from seed 0, so that every test sees the same
/// weights on every run; the `VarMap` shares the network's variables.
fn build(arch: Arch, dim: usize) -> Result<(VarMap, EmbeddingNet)> {
    build_seeded(arch, dim, 0)
}

fn build_seeded(arch: Arch, dim: usize, seed: u64) -> Result<(VarMap, EmbeddingNet)> {
    let params = Params::new(seed);
    let net = EmbeddingNet::new(arch, dim, params.builder(&Device::Cpu))?;
    Ok((params.var_map().clone(), net))
}

/// `b` images of `size` x `size` pixels, standard normal, from the project's seeded generator.
fn images(b: usize, size: usize, seed: u64) -> Result<Tensor> {
    let mut rng = Rng::new(seed);
    let pixels: Vec<f32> = (0..b * 3 * size * size)
        .map(|_| rng.normal() as f32)
        .collect();
    Tensor::from_vec(pixels, (b, 3, size, size), &Device::Cpu)
}

fn var(varmap: &VarMap, name: &str) -> Result<Tensor> {
    let data = varmap
        .data()
        .lock()
        .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    data.get(name)
        .map(|v| v.as_tensor().copy())
        .ok_or_else(|| candle_core::Error::Msg(format!("no variable {name}")))?
}

/// Each network's own names say which it is; a deeper ResNet's or VGG's, which hold most of
/// them, are none of the three.
#[test]
fn torchvision_names_tell_the_architecture_apart() -> Result<()> {
    for arch in Arch::ALL {
        let (varmap, _) = build(arch, 8)?;
        let names: Vec<String> = varmap
            .data()
            .lock()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?
            .keys()
            .cloned()
            .collect();
        let has = |extra: &[&str]| {
            let names = names.clone();
            let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
            move |n: &str| names.iter().chain(&extra).any(|m| m == n)
        };
        assert_eq!(Arch::of_torchvision_names(has(&[])), Some(arch));
        let deeper: &[&str] = match arch {
            // VGG's second convolution, and VGG-BN's first BatchNorm.
            Arch::Alexnet => &["features.2.weight", "features.1.weight"],
            Arch::Resnet18 => &["layer1.2.conv1.weight"],
            Arch::Resnet152 => &["layer3.36.conv3.weight"],
        };
        for name in deeper {
            assert_eq!(
                Arch::of_torchvision_names(has(&[name])),
                None,
                "{arch} {name}"
            );
        }
    }
    Ok(())
}

#[test]
fn arch_strings_round_trip_and_unknown_lists_choices() -> Result<()> {
    for arch in Arch::ALL {
        assert_eq!(arch.to_string().parse::<Arch>(), Ok(arch));
        let json =
            serde_json::to_string(&arch).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        assert_eq!(json, format!("\"{arch}\""));
    }
    assert_eq!("ResNet18".parse::<Arch>(), Ok(Arch::Resnet18));
    let err = match "vgg16".parse::<Arch>() {
        Ok(a) => panic!("vgg16 parsed as {a}"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("vgg16") && err.contains("alexnet, resnet18, resnet152"),
        "{err}"
    );
    use clap::ValueEnum;
    let names: Vec<String> = Arch::value_variants()
        .iter()
        .filter_map(|a| a.to_possible_value().map(|v| v.get_name().to_string()))
        .collect();
    assert_eq!(names, ["alexnet", "resnet18", "resnet152"]);
    Ok(())
}

#[test]
fn parameter_counts_match_torchvision() -> Result<()> {
    // torchvision (sum(p.numel() for p in model.parameters())) with the 1000-way classifier:
    // alexnet 61,100,840; resnet18 11,689,512; resnet152 60,192,808. With dim = 1000 our
    // embedding layer has exactly the classifier's shape.
    for (arch, torchvision) in [
        (Arch::Alexnet, 61_100_840),
        (Arch::Resnet18, 11_689_512),
        (Arch::Resnet152, 60_192_808),
    ] {
        let (varmap, net) = build(arch, 1000)?;
        assert_eq!(net.arch(), arch);
        assert_eq!(net.dim(), 1000);
        assert_eq!(trainable_parameter_count(&varmap)?, torchvision, "{arch}");
    }
    // resnet18 with fc replaced by Linear(512, 128): 11,176,512 + 512 * 128 + 128.
    let (varmap, _) = build(Arch::Resnet18, 128)?;
    assert_eq!(
        trainable_parameter_count(&varmap)?,
        11_176_512 + 512 * 128 + 128
    );
    // Running statistics are stored too: resnet18 has 4,800 BN channels (64 + 4*64 + 5*128 +
    // 5*256 + 5*512) -> 9,600 running-stat values.
    let all: usize = varmap.all_vars().iter().map(|v| v.elem_count()).sum();
    assert_eq!(all - trainable_parameter_count(&varmap)?, 2 * 4_800);
    Ok(())
}

/// The networks as the trainer builds them start from torchvision's initialisation (see
/// [`init`]): ResNet's convolutions `kaiming_normal_(mode="fan_out", nonlinearity="relu")`,
/// its BatchNorms weight 1, bias 0, running mean 0, running variance 1; AlexNet's layers torch's
/// default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases; the embedding layer
/// N(0, 0.02) with bias 0. Fans worked out by hand from torchvision's layer shapes.
#[test]
fn built_networks_start_from_torchvisions_init() -> Result<()> {
    use init::checks::{assert_kaiming_normal_fan_out, assert_torch_default_uniform};
    let (varmap, _) = build(Arch::Resnet18, 8)?;
    for (name, fan_out) in [
        ("conv1.weight", 64 * 7 * 7),
        ("layer1.0.conv1.weight", 64 * 3 * 3),
        ("layer2.0.downsample.0.weight", 128),
        ("layer4.1.conv2.weight", 512 * 3 * 3),
    ] {
        assert_kaiming_normal_fan_out(name, &var(&varmap, name)?, fan_out)?;
    }
    for (name, value) in [
        ("bn1.weight", 1.0),
        ("bn1.bias", 0.0),
        ("layer3.1.bn2.running_mean", 0.0),
        ("layer3.1.bn2.running_var", 1.0),
    ] {
        let v = var(&varmap, name)?.to_vec1::<f32>()?;
        assert!(v.iter().all(|&x| x == value), "{name}: {v:?}");
    }
    let fc = var(&varmap, "fc.weight")?.flatten_all()?.to_vec1::<f32>()?;
    // 4,096 values: the std's standard error is 0.02 / sqrt(2 * 4096) = 2.2e-4.
    let std = (fc.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / fc.len() as f64).sqrt();
    assert!((std - 0.02).abs() < 5.0 * 2.3e-4, "fc.weight std {std}");
    assert_eq!(var(&varmap, "fc.bias")?.to_vec1::<f32>()?, vec![0.0; 8]);

    let (varmap, _) = build(Arch::Alexnet, 8)?;
    for (layer, fan_in, rows) in [
        ("features.0", 3 * 11 * 11, 64),
        ("features.3", 64 * 5 * 5, 192),
        ("features.10", 256 * 3 * 3, 256),
        // Of the classifier's large matrices, the first 64 rows are enough.
        ("classifier.1", 256 * 6 * 6, 64),
        ("classifier.4", 4096, 64),
    ] {
        let weight = var(&varmap, &format!("{layer}.weight"))?.narrow(0, 0, rows)?;
        assert_torch_default_uniform(&format!("{layer}.weight"), &weight, fan_in)?;
        let bias = var(&varmap, &format!("{layer}.bias"))?;
        assert_torch_default_uniform(&format!("{layer}.bias"), &bias, fan_in)?;
    }
    Ok(())
}

#[test]
fn checkpoint_keys_follow_torchvision_names() -> Result<()> {
    let (varmap, _) = build(Arch::Resnet18, 8)?;
    for key in [
        "conv1.weight",
        "bn1.running_mean",
        "layer1.0.conv1.weight",
        "layer2.0.downsample.0.weight",
        "layer2.0.downsample.1.running_var",
        "layer4.1.bn2.bias",
        "fc.weight",
        "fc.bias",
    ] {
        var(&varmap, key)?;
    }
    assert_eq!(var(&varmap, "fc.weight")?.dims(), [8, 512]);
    let (varmap, _) = build(Arch::Resnet152, 8)?;
    // v1.5: the stride of layer2.0 sits on the 3x3 conv2, conv1 is 1x1.
    assert_eq!(
        var(&varmap, "layer2.0.conv1.weight")?.dims(),
        [128, 256, 1, 1]
    );
    assert_eq!(
        var(&varmap, "layer2.0.conv2.weight")?.dims(),
        [128, 128, 3, 3]
    );
    assert_eq!(
        var(&varmap, "layer3.35.conv3.weight")?.dims(),
        [1024, 256, 1, 1]
    );
    assert_eq!(var(&varmap, "fc.weight")?.dims(), [8, 2048]);
    let (varmap, _) = build(Arch::Alexnet, 8)?;
    assert_eq!(var(&varmap, "features.0.weight")?.dims(), [64, 3, 11, 11]);
    assert_eq!(var(&varmap, "features.10.bias")?.dims(), [256]);
    assert_eq!(var(&varmap, "classifier.1.weight")?.dims(), [4096, 9216]);
    assert_eq!(var(&varmap, "classifier.6.weight")?.dims(), [8, 4096]);
    Ok(())
}

#[test]
fn zero_init_residual_gates_each_block_and_nothing_else() -> Result<()> {
    let vars = |varmap: &VarMap| -> Vec<(String, candle_core::Var)> {
        let data = varmap.data().lock().expect("varmap lock");
        data.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    let sum =
        |varmap: &VarMap, name: &str| -> Result<f32> { var(varmap, name)?.sum_all()?.to_scalar() };
    // One gate per residual block: 2+2+2+2 BasicBlocks, 3+8+36+3 Bottlenecks.
    for (arch, blocks, gate, channels) in [
        (Arch::Resnet18, 8, "layer4.1.bn2.weight", 512.0),
        (Arch::Resnet152, 50, "layer3.35.bn3.weight", 1024.0),
    ] {
        let (varmap, _) = build(arch, 8)?;
        assert_eq!(
            sum(&varmap, gate)?,
            channels,
            "{arch}: BatchNorm weights start at 1"
        );
        assert_eq!(zero_init_residual(arch, &vars(&varmap))?, blocks, "{arch}");
        assert_eq!(sum(&varmap, gate)?, 0.0, "{arch}");
        for kept in [
            "bn1.weight",
            "layer2.0.downsample.1.weight",
            "layer1.0.bn1.weight",
        ] {
            assert!(sum(&varmap, kept)? > 0.0, "{arch}: {kept} is not a gate");
        }
    }
    assert!(resnet::is_residual_gate(
        resnet::BlockKind::Basic,
        "layer1.0.bn2.weight"
    ));
    assert!(!resnet::is_residual_gate(
        resnet::BlockKind::Basic,
        "layer1.0.bn2.bias"
    ));
    assert!(!resnet::is_residual_gate(
        resnet::BlockKind::Bottleneck,
        "layer1.0.bn2.weight"
    ));
    let (varmap, _) = build(Arch::Alexnet, 8)?;
    assert!(zero_init_residual(Arch::Alexnet, &vars(&varmap)).is_err());
    Ok(())
}

#[test]
fn output_shapes_at_224() -> Result<()> {
    // resnet152 at 224 takes a few seconds in eval mode on 2 cores.
    for (arch, batch) in [
        (Arch::Alexnet, 2),
        (Arch::Resnet18, 2),
        (Arch::Resnet152, 1),
    ] {
        let (_varmap, net) = build(arch, 64)?;
        let start = Instant::now();
        let ys = net.forward_t(&images(batch, 224, 0)?, false)?;
        eprintln!(
            "{arch} eval forward 224x224 batch {batch}: {:?}",
            start.elapsed()
        );
        assert_eq!(ys.dims(), [batch, 64], "{arch}");
        assert_eq!(ys.dtype(), DType::F32);
        let finite = ys.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(finite.is_finite() && finite > 0.0, "{arch}: {finite}");
    }
    Ok(())
}

#[test]
fn small_inputs_work_and_too_small_ones_fail_with_shapes() -> Result<()> {
    for (arch, size) in [
        (Arch::Resnet18, 32),
        (Arch::Resnet18, 64),
        (Arch::Resnet152, 32),
        (Arch::Alexnet, 64),
        (Arch::Alexnet, 63),
    ] {
        let (_varmap, net) = build(arch, 16)?;
        let x = images(2, size, 0)?;
        for ys in [
            net.forward_train(&x, &mut Rng::new(0))?,
            net.forward_t(&x, false)?,
        ] {
            assert_eq!(ys.dims(), [2, 16], "{arch} at {size}");
        }
    }
    let (_varmap, net) = build(Arch::Alexnet, 16)?;
    let err = match net.forward_t(&images(2, 62, 0)?, false) {
        Ok(_) => panic!("alexnet must reject 62x62"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("63x63") && err.contains("[2, 3, 62, 62]"),
        "{err}"
    );
    let err = match net.forward_t(
        &Tensor::zeros((2, 1, 64, 64), DType::F32, &Device::Cpu)?,
        false,
    ) {
        Ok(_) => panic!("alexnet must reject 1-channel input"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("[2, 1, 64, 64]"), "{err}");
    Ok(())
}

#[test]
fn alexnet_drops_units_in_training_only_as_its_generator_says() -> Result<()> {
    let (_varmap, net) = build(Arch::Alexnet, 8)?;
    let x = images(2, 64, 0)?;
    let train = |seed: u64| net.forward_train(&x, &mut Rng::new(seed))?.to_vec2::<f32>();
    assert_eq!(train(1)?, train(1)?);
    assert_ne!(train(1)?, train(2)?);
    let eval = net.forward_t(&x, false)?.to_vec2::<f32>()?;
    assert_eq!(eval, net.forward_t(&x, false)?.to_vec2::<f32>()?);
    assert_ne!(train(1)?, eval);
    // ModuleT's training flag has no room for the generator.
    let err = match net.forward_t(&x, true) {
        Ok(_) => panic!("a training pass without a generator"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("forward_train"), "{err}");
    Ok(())
}

#[test]
fn alexnet_without_dropout_trains_on_what_it_evaluates() -> Result<()> {
    let (_varmap, mut net) = build(Arch::Alexnet, 8)?;
    let x = images(2, 64, 0)?;
    net.set_dropout(0.0)?;
    let eval = net.forward_t(&x, false)?.to_vec2::<f32>()?;
    assert_eq!(
        net.forward_train(&x, &mut Rng::new(1))?.to_vec2::<f32>()?,
        eval
    );
    net.set_dropout(0.1)?;
    assert_ne!(
        net.forward_train(&x, &mut Rng::new(1))?.to_vec2::<f32>()?,
        eval
    );
    assert!(net.set_dropout(1.0).is_err());
    let (_varmap, mut resnet) = build(Arch::Resnet18, 8)?;
    let err = resnet.set_dropout(0.2).unwrap_err().to_string();
    assert!(err.contains("resnet18 has no dropout"), "{err}");
    Ok(())
}

#[test]
fn batchnorm_train_and_eval_differ_and_running_stats_are_saved() -> Result<()> {
    let (varmap, net) = build(Arch::Resnet18, 16)?;
    let x = images(4, 32, 0)?;
    let before = var(&varmap, "layer1.0.bn1.running_mean")?;
    let eval_before = net.forward_t(&x, false)?;
    // Eval does not touch the running stats.
    let same = (&before - var(&varmap, "layer1.0.bn1.running_mean")?)?
        .abs()?
        .max_all()?
        .to_scalar::<f32>()?;
    assert_eq!(same, 0.0);

    let train = net.forward_train(&x, &mut Rng::new(0))?;
    let after = var(&varmap, "layer1.0.bn1.running_mean")?;
    let moved = (&after - &before)?.abs()?.max_all()?.to_scalar::<f32>()?;
    assert!(moved > 0.0, "running mean did not change in train mode");
    let stem_var = var(&varmap, "bn1.running_var")?.to_vec1::<f32>()?;
    assert!(
        stem_var.iter().any(|&v| (v - 1.0).abs() > 1e-4),
        "running var unchanged"
    );

    // Train (batch stats) and eval (running stats) give different embeddings; eval changes
    // once the running stats have moved.
    let d = (&train - &eval_before)?
        .abs()?
        .max_all()?
        .to_scalar::<f32>()?;
    assert!(d > 1e-3, "train and eval outputs are equal");
    let eval_after = net.forward_t(&x, false)?;
    let d = (&eval_after - &eval_before)?
        .abs()?
        .max_all()?
        .to_scalar::<f32>()?;
    assert!(d > 1e-4, "eval output ignores the updated running stats");
    // Eval is deterministic.
    let d = (&eval_after - net.forward_t(&x, false)?)?
        .abs()?
        .max_all()?
        .to_scalar::<f32>()?;
    assert_eq!(d, 0.0);

    // VarMap::save writes the updated running stats; loading them back gives eval_after.
    let dir = tempfile::tempdir().map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let path = dir.path().join("ckpt.safetensors");
    varmap.save(&path)?;
    let loaded = candle_core::safetensors::load(&path, &Device::Cpu)?;
    let saved = loaded
        .get("layer1.0.bn1.running_mean")
        .ok_or_else(|| candle_core::Error::Msg("running_mean not in checkpoint".into()))?;
    assert_eq!(saved.to_vec1::<f32>()?, after.to_vec1::<f32>()?);
    // A network from another seed, so that only the load can make it agree.
    let (mut fresh_map, fresh) = build_seeded(Arch::Resnet18, 16, 1)?;
    let d = (fresh.forward_t(&x, false)? - &eval_after)?
        .abs()?
        .max_all()?
        .to_scalar::<f32>()?;
    assert!(d > 1e-3, "another seed gives the same eval output");
    fresh_map.load(&path)?;
    let d = (fresh.forward_t(&x, false)? - &eval_after)?
        .abs()?
        .max_all()?
        .to_scalar::<f32>()?;
    assert_eq!(d, 0.0, "reloaded checkpoint gives a different eval output");
    Ok(())
}

#[test]
fn gradients_reach_every_parameter_but_no_buffer() -> Result<()> {
    // Built as the trainer builds it, and stepped by the trainer's optimiser over every
    // variable, buffers included.
    let params = Params::new(0);
    let net = EmbeddingNet::new(Arch::Resnet18, 8, params.builder(&Device::Cpu))?;
    let varmap = params.var_map();
    let loss = net
        .forward_train(&images(2, 32, 0)?, &mut Rng::new(0))?
        .sqr()?
        .sum_all()?;
    let grads = loss.backward()?;
    for (name, v) in params.named_vars() {
        let g = grads.get(v.as_tensor());
        if is_buffer(&name) {
            assert!(g.is_none(), "{name} got a gradient");
        } else {
            let g = g.ok_or_else(|| candle_core::Error::Msg(format!("{name}: no gradient")))?;
            assert_eq!(g.dims(), v.dims(), "{name}");
        }
    }
    // An Adam step with weight decay (which would move any variable it touched) changes the
    // parameters and leaves the running statistics alone.
    let mut opt = Adam::new(
        params.named_vars(),
        AdamConfig {
            weight_decay: 0.1,
            ..AdamConfig::with_lr(1e-3)
        },
    )?;
    let max_change = |name: &str, before: &Tensor| -> Result<f32> {
        (before - var(varmap, name)?)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()
    };
    let buffers = [
        "bn1.running_mean",
        "bn1.running_var",
        "layer4.1.bn2.running_var",
    ];
    let before: Vec<Tensor> = buffers
        .iter()
        .map(|name| var(varmap, name))
        .collect::<Result<_>>()?;
    let w = var(varmap, "conv1.weight")?;
    opt.step(&grads)?;
    for (name, t) in buffers.iter().zip(&before) {
        assert_eq!(max_change(name, t)?, 0.0, "{name} moved");
    }
    assert!(max_change("conv1.weight", &w)? > 0.0);
    Ok(())
}

/// Closed residual gates (zero-init) still learn: a gate's layer is never one whose ReLU is
/// fused into its batch norm, where an all-zero output would pass no gradient back.
#[test]
fn zero_initialised_gates_get_gradients() -> Result<()> {
    for arch in [Arch::Resnet18, Arch::Resnet152] {
        let params = Params::new(0);
        let net = EmbeddingNet::new(arch, 8, params.builder(&Device::Cpu))?;
        let gates = zero_init_residual(arch, &params.named_vars())?;
        let grads = net
            .forward_train(&images(2, 32, 0)?, &mut Rng::new(0))?
            .sqr()?
            .sum_all()?
            .backward()?;
        let mut open = 0;
        for (name, v) in params.named_vars() {
            if v.as_tensor().sum_all()?.to_scalar::<f32>()? == 0.0 && name.ends_with(".weight") {
                let g = grads
                    .get(v.as_tensor())
                    .ok_or_else(|| candle_core::Error::Msg(format!("{name}: no gradient")))?;
                let size = g.abs()?.sum_all()?.to_scalar::<f32>()?;
                assert!(size > 0.0, "{arch}: gate {name} gets no gradient");
                open += 1;
            }
        }
        assert_eq!(open, gates, "{arch}: every gate checked");
    }
    Ok(())
}

/// The same resnet18 weights with candle's conv backward and ours, in evaluation and in
/// training (batch statistics, whose backward feeds the convolutions' other gradients).
/// Seeded weights and images: the two forward passes round differently, and where a max-pool
/// window or a ReLU holds a near tie, that can route a gradient elsewhere, a difference of
/// percents that says nothing of the backward (unseeded, about one call in five met one).
#[test]
fn conv_backends_give_the_same_network_gradients() -> Result<()> {
    for (train, seed) in [(false, 0), (false, 1), (true, 0), (true, 1)] {
        conv_backends_agree(train, seed)?;
    }
    Ok(())
}

fn conv_backends_agree(train: bool, seed: u64) -> Result<()> {
    let params = Params::new(seed);
    let vb = params.builder(&Device::Cpu);
    let ours = EmbeddingNet::with_conv_backward(Arch::Resnet18, 8, ConvBackward::Conv, vb.clone())?;
    let reference = EmbeddingNet::with_conv_backward(Arch::Resnet18, 8, ConvBackward::Candle, vb)?;
    // Training batch norm over a 1×1 map of two images normalises two values: its exact input
    // gradient is zero, and only rounding would be compared. Four 64 px images give layer4 a
    // 2×2 map, 16 values a channel.
    let (n, size) = if train { (4, 64) } else { (2, 32) };
    let x = images(n, size, seed)?;
    let forward = |net: &EmbeddingNet| match train {
        true => net.forward_train(&x, &mut Rng::new(0)),
        false => net.forward_t(&x, false),
    };
    let g1 = forward(&ours)?.sqr()?.sum_all()?.backward()?;
    let g2 = forward(&reference)?.sqr()?.sum_all()?.backward()?;
    let vars = params.named_vars();
    for name in [
        "conv1.weight",
        "layer1.0.conv1.weight",
        "layer3.0.downsample.0.weight",
    ] {
        let (_, v) = vars
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| candle_core::Error::Msg(name.into()))?;
        let missing = || candle_core::Error::Msg(format!("{name}: no gradient"));
        let a = g1.get(v.as_tensor()).ok_or_else(missing)?;
        let b = g2.get(v.as_tensor()).ok_or_else(missing)?;
        let scale = b.abs()?.max_all()?.to_scalar::<f32>()?;
        let d = (a - b)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(
            d <= 1e-4 * scale.max(1e-6),
            "{name}, train {train}, seed {seed}: diff {d} (scale {scale})"
        );
        assert_eq!(v.dims(), a.dims());
    }
    Ok(())
}

#[test]
fn the_spin_limit_is_set_only_where_the_user_set_none() {
    use std::ffi::OsStr;
    assert_eq!(spin_limit_to_set(None), Some("1000"));
    assert_eq!(spin_limit_to_set(Some(OsStr::new(""))), Some("1000"));
    assert_eq!(spin_limit_to_set(Some(OsStr::new("25000"))), None);
    assert_eq!(spin_limit_to_set(Some(OsStr::new("0"))), None);
}

/// torchvision's `Normalize(mean, std)` of a pixel value `p` in [0, 255] is `(p/255 - m) / s`;
/// the data pipeline gives the network `p/127.5 - 1`, which `imagenet_normalise` maps there.
#[test]
fn imagenet_normalise_is_torchvisions_normalize_of_the_pixels() -> Result<()> {
    let pixels = [0u8, 1, 128, 200, 255];
    let xs: Vec<f32> = (0..3)
        .flat_map(|_| pixels.map(|p| f32::from(p) / 127.5 - 1.0))
        .collect();
    let out = imagenet_normalise(&Tensor::from_vec(xs, (1, 3, 1, 5), &Device::Cpu)?)?;
    let got = out.flatten_all()?.to_vec1::<f32>()?;
    for c in 0..3 {
        for (i, p) in pixels.iter().enumerate() {
            let want = (f32::from(*p) / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
            let g = got[c * pixels.len() + i];
            assert!(
                (g - want).abs() < 1e-5,
                "channel {c}, pixel {p}: {g} vs {want}"
            );
        }
    }
    Ok(())
}

/// With `set_imagenet_norm`, a network embeds images as the same network without it embeds
/// the images normalised first: the normalisation is the first layer and nothing else
/// changes.
#[test]
fn imagenet_norm_normalises_the_input_before_the_first_layer() -> Result<()> {
    let (_varmap, mut net) = build(Arch::Resnet18, 8)?;
    let mut rng = Rng::new(3);
    let pixels: Vec<f32> = (0..2 * 3 * 32 * 32)
        .map(|_| (2.0 * rng.uniform() - 1.0) as f32)
        .collect();
    let xs = Tensor::from_vec(pixels, (2, 3, 32, 32), &Device::Cpu)?;
    let plain = net.forward_t(&imagenet_normalise(&xs)?, false)?;
    let unnormalised = net.forward_t(&xs, false)?;
    net.set_imagenet_norm(true);
    let normed = net.forward_t(&xs, false)?;
    let diff = |a: &Tensor, b: &Tensor| -> Result<f32> {
        (a - b)?
            .abs()?
            .max_keepdim(1)?
            .max(0)?
            .squeeze(0)?
            .to_scalar::<f32>()
    };
    assert!(diff(&normed, &plain)? < 1e-4);
    assert!(
        diff(&normed, &unnormalised)? > 1e-3,
        "the flag changed nothing"
    );
    Ok(())
}
