//! How big each workspace of an environment is: its memory, CPUs and disk.

use crate::ValidationError;

/// Memory (no swap beyond it), CPUs and disk of a workspace. As the server's defaults and
/// as an environment's effective size, `disk_bytes: None` is no disk cap; as the server's
/// maxima, it is no maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkspaceSize {
    pub memory_bytes: i64,
    /// CPUs in billionths (0.5 CPU = 500_000_000), as the engine counts them.
    pub nano_cpus: i64,
    pub disk_bytes: Option<i64>,
}

/// What an environment asks for its workspaces; each `None` takes the server's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EnvironmentSize {
    pub memory_bytes: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub disk_bytes: Option<i64>,
}

impl EnvironmentSize {
    /// The least memory a workspace may have, as for `SANDBOX_MEMORY_LIMIT`.
    pub const MIN_MEMORY_BYTES: i64 = 64 << 20;
    /// The least CPU share: a hundredth of a CPU.
    pub const MIN_NANO_CPUS: i64 = 10_000_000;
    /// The least disk cap, as for `SANDBOX_DISK_LIMIT`.
    pub const MIN_DISK_BYTES: i64 = 1 << 20;

    /// Checks what a client asked for (each `None` takes the default) against the least a
    /// workspace needs and the server's `maxima`. `prefix` goes before each field's name
    /// (`size.` within a new environment's body); every bad field is named, and one over
    /// its maximum is told the maximum and the setting that holds it.
    pub fn parse(
        prefix: &'static str,
        memory_bytes: Option<i64>,
        cpus: Option<f64>,
        disk_bytes: Option<i64>,
        maxima: &WorkspaceSize,
    ) -> Result<Self, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let mut bad = |field: &str, why: String| {
            let field = format!("{prefix}{field}");
            errors.push(ValidationError::new(
                field.clone(),
                format!("{field}: {why}"),
            ));
        };
        if let Some(m) = memory_bytes {
            if m < Self::MIN_MEMORY_BYTES {
                bad(
                    "memoryBytes",
                    format!(
                        "a workspace needs at least {} of memory ({} bytes)",
                        human_bytes(Self::MIN_MEMORY_BYTES),
                        Self::MIN_MEMORY_BYTES
                    ),
                );
            } else if m > maxima.memory_bytes {
                bad(
                    "memoryBytes",
                    format!(
                        "{} is over the maximum of {} ({} bytes) that this server allows (SANDBOX_MEMORY_MAX); ask an admin to raise it",
                        human_bytes(m),
                        human_bytes(maxima.memory_bytes),
                        maxima.memory_bytes
                    ),
                );
            }
        }
        let nano_cpus = cpus.map(|c| {
            if !c.is_finite() || c * 1e9 < Self::MIN_NANO_CPUS as f64 {
                bad(
                    "cpus",
                    format!(
                        "a workspace needs at least {} CPU",
                        human_cpus(Self::MIN_NANO_CPUS)
                    ),
                );
                0
            } else if c * 1e9 > maxima.nano_cpus as f64 {
                bad(
                    "cpus",
                    format!(
                        "{c} is over the maximum of {} that this server allows (SANDBOX_CPU_MAX); ask an admin to raise it",
                        human_cpus(maxima.nano_cpus)
                    ),
                );
                0
            } else {
                (c * 1e9).round() as i64
            }
        });
        if let Some(d) = disk_bytes {
            if d < Self::MIN_DISK_BYTES {
                bad(
                    "diskBytes",
                    format!(
                        "a workspace's disk cap must be at least {} ({} bytes)",
                        human_bytes(Self::MIN_DISK_BYTES),
                        Self::MIN_DISK_BYTES
                    ),
                );
            } else if let Some(max) = maxima.disk_bytes.filter(|max| d > *max) {
                bad(
                    "diskBytes",
                    format!(
                        "{} is over the maximum of {} ({max} bytes) that this server allows (SANDBOX_DISK_MAX); ask an admin to raise it",
                        human_bytes(d),
                        human_bytes(max)
                    ),
                );
            }
        }
        if errors.is_empty() {
            Ok(Self {
                memory_bytes,
                nano_cpus,
                disk_bytes,
            })
        } else {
            Err(errors)
        }
    }

    /// What the environment's workspaces get: its own settings, else the server's defaults.
    pub fn effective(&self, defaults: &WorkspaceSize) -> WorkspaceSize {
        WorkspaceSize {
            memory_bytes: self.memory_bytes.unwrap_or(defaults.memory_bytes),
            nano_cpus: self.nano_cpus.unwrap_or(defaults.nano_cpus),
            disk_bytes: self.disk_bytes.or(defaults.disk_bytes),
        }
    }
}

/// CPUs as a number (0.5, 2) from the engine's billionths.
pub fn cpus(nano_cpus: i64) -> f64 {
    nano_cpus as f64 / 1e9
}

/// `0.5 CPU`, `2 CPUs`.
fn human_cpus(nano_cpus: i64) -> String {
    let n = cpus(nano_cpus);
    format!("{n} CPU{}", if n > 1.0 { "s" } else { "" })
}

/// `10.3 GiB`, `50 MiB`, `512 B`: binary units, one decimal when it says something.
pub fn human_bytes(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes.abs() < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let shown = format!("{value:.1}");
    let shown = shown.strip_suffix(".0").unwrap_or(&shown);
    format!("{shown} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAXIMA: WorkspaceSize = WorkspaceSize {
        memory_bytes: 4 << 30,
        nano_cpus: 2_000_000_000,
        disk_bytes: Some(40 << 30),
    };

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(50 << 20), "50 MiB");
        assert_eq!(human_bytes((103 << 30) / 10), "10.3 GiB");
        assert_eq!(human_bytes(10 << 30), "10 GiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_cpus(500_000_000), "0.5 CPU");
        assert_eq!(human_cpus(2_000_000_000), "2 CPUs");
    }

    #[test]
    fn within_the_maxima_is_taken_and_left_out_takes_the_default() {
        let size = EnvironmentSize::parse("", Some(1 << 30), Some(1.5), None, &MAXIMA).unwrap();
        assert_eq!(
            size,
            EnvironmentSize {
                memory_bytes: Some(1 << 30),
                nano_cpus: Some(1_500_000_000),
                disk_bytes: None
            }
        );
        let defaults = WorkspaceSize {
            memory_bytes: 512 << 20,
            nano_cpus: 500_000_000,
            disk_bytes: Some(10 << 30),
        };
        assert_eq!(
            size.effective(&defaults),
            WorkspaceSize {
                memory_bytes: 1 << 30,
                nano_cpus: 1_500_000_000,
                disk_bytes: Some(10 << 30)
            }
        );
        assert_eq!(EnvironmentSize::default().effective(&defaults), defaults);
        let at_max =
            EnvironmentSize::parse("", Some(4 << 30), Some(2.0), Some(40 << 30), &MAXIMA).unwrap();
        assert_eq!(at_max.effective(&defaults), MAXIMA);
    }

    #[test]
    fn over_the_maximum_names_the_maximum_and_under_the_least_is_refused() {
        let e = EnvironmentSize::parse("size.", Some(8 << 30), Some(3.0), Some(50 << 30), &MAXIMA)
            .unwrap_err();
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_ref()).collect();
        assert_eq!(fields, ["size.memoryBytes", "size.cpus", "size.diskBytes"]);
        assert_eq!(
            e[0].message,
            "size.memoryBytes: 8 GiB is over the maximum of 4 GiB (4294967296 bytes) that this server allows (SANDBOX_MEMORY_MAX); ask an admin to raise it"
        );
        assert!(
            e[1].message.contains("maximum of 2 CPUs"),
            "{}",
            e[1].message
        );
        assert!(
            e[2].message.contains("maximum of 40 GiB"),
            "{}",
            e[2].message
        );
        let e = EnvironmentSize::parse("", Some(1 << 20), Some(0.001), Some(1024), &MAXIMA)
            .unwrap_err();
        assert_eq!(e.len(), 3);
        assert!(e[0].message.contains("at least 64 MiB"), "{}", e[0].message);
        assert!(
            e[1].message.contains("at least 0.01 CPU"),
            "{}",
            e[1].message
        );
        assert!(e[2].message.contains("at least 1 MiB"), "{}", e[2].message);
        let no_disk_max = WorkspaceSize {
            disk_bytes: None,
            ..MAXIMA
        };
        assert!(EnvironmentSize::parse("", None, None, Some(1 << 50), &no_disk_max).is_ok());
    }
}
