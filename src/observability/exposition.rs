//! Prometheus text exposition (format 0.0.4): one `# TYPE` line per family, then samples.

use std::fmt::Write;

pub struct Exposition {
    out: String,
    last_family: String,
}

impl Exposition {
    pub fn new() -> Exposition {
        Exposition {
            out: String::with_capacity(16 * 1024),
            last_family: String::new(),
        }
    }

    pub fn gauge(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.sample(name, "gauge", labels, value);
    }

    pub fn counter(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.sample(name, "counter", labels, value);
    }

    fn sample(&mut self, name: &str, kind: &str, labels: &[(&str, &str)], value: f64) {
        if self.last_family != name {
            let _ = writeln!(self.out, "# TYPE {name} {kind}");
            self.last_family = name.to_string();
        }
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_type_line_per_family() {
        let mut e = Exposition::new();
        e.gauge("a", &[("topic", "t\"1")], 1.0);
        e.gauge("a", &[("topic", "t2")], 2.5);
        e.counter("b_total", &[], 3.0);
        assert_eq!(
            e.finish(),
            "# TYPE a gauge\na{topic=\"t\\\"1\"} 1\na{topic=\"t2\"} 2.5\n# TYPE b_total counter\nb_total 3\n"
        );
    }
}
