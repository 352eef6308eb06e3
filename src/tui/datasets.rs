//! The lab's datasets as the dashboard names them (`lfw-20-30`, `synthetic:12:24:0`, as `runs`
//! names them) and finds their images: for the runs table's data column, the compare table's
//! dataset row and the start form's data field.

use std::collections::BTreeMap;
use std::path::Path;

use crate::lab::{Lab, Run};

/// A dataset the lab's runs trained on: its name ([`crate::lab::params::dataset_name`]) and
/// where its images were read from, as the lab recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub name: String,
    pub source: String,
}

/// The datasets of a lab's runs, by id.
pub type Datasets = BTreeMap<i64, Dataset>;

/// The datasets `runs` trained on, by id.
pub fn of_runs(lab: &Lab, runs: &[Run]) -> anyhow::Result<Datasets> {
    Ok(lab
        .dataset_heads(runs)?
        .into_iter()
        .map(|(id, d)| {
            let name = crate::lab::params::dataset_name(&d);
            (
                id,
                Dataset {
                    name,
                    source: d.source,
                },
            )
        })
        .collect())
}

/// Run `r`'s dataset as `runs` names it in its data column: its name, after its id (`#2
/// lfw-20-30`) where another of `datasets` has the same name, its id alone where its name is
/// not known; `-` for none.
pub fn name_of(r: &Run, datasets: &Datasets) -> String {
    let Some(id) = r.dataset_id.map(|d| d.0) else {
        return "-".into();
    };
    match datasets.get(&id) {
        Some(d) if datasets.values().filter(|o| o.name == d.name).count() > 1 => {
            format!("#{id} {}", d.name)
        }
        Some(d) => d.name.clone(),
        None => format!("#{id}"),
    }
}

/// Where run `r`'s images are now, as a path `run --data` takes from this working directory:
/// the source its dataset record holds (absolute, or relative to the lab's folder `lab_dir`),
/// then its `--data` as recorded, relative to the lab's folder and then as given (a run records
/// the path it was given, relative to the folder it was started in: `../shared/data/lfw-20-30`
/// from beside the lab); the generated set it named, for a synthetic run. None where none of
/// these exists.
pub fn images_of(r: &Run, datasets: &Datasets, lab_dir: &Path) -> Option<String> {
    let data = crate::train::config::TrainConfig::recorded(r)
        .ok()
        .map(|c| c.data)
        // The default data records "" (the fetched archive), which is no path: joined to the
        // lab's folder it would be that folder.
        .filter(|d| !d.is_empty());
    if let Some(d) = data.as_deref().filter(|d| d.starts_with("synthetic")) {
        return Some(d.to_string());
    }
    let source = r
        .dataset_id
        .and_then(|id| datasets.get(&id.0))
        .map(|d| d.source.as_str());
    let mut found = None;
    for path in source.into_iter().chain(data.as_deref()) {
        let path = Path::new(path);
        let candidates = if path.is_absolute() {
            vec![path.to_path_buf()]
        } else {
            vec![lab_dir.join(path), path.to_path_buf()]
        };
        found = candidates.into_iter().find(|p| p.exists());
        if found.is_some() {
            break;
        }
    }
    found.map(|p| p.to_string_lossy().into_owned())
}
