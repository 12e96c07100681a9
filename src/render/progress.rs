//! Where progress bars draw, and the line break an interrupted run owes the terminal.

use std::io::{self, Write};

use indicatif::{ProgressDrawTarget, TermLike};

/// Columns kept free at the end of a bar's line.
const MARGIN: u16 = 3;

/// A terminal that reports itself [`MARGIN`] columns narrower than it is. indicatif pads a
/// bar to the full width and leaves the cursor past its end, so the `^C` a terminal
/// echoes on Ctrl-C wraps to a line of its own; clearing the bar then clears only that
/// line and leaves a stale frame above the report. With room left on the bar's line the
/// echo stays there, and is cleared with the bar.
#[derive(Debug)]
pub struct Margin<T: TermLike>(pub T);

impl<T: TermLike> TermLike for Margin<T> {
    fn width(&self) -> u16 {
        self.0.width().saturating_sub(MARGIN).max(1)
    }

    fn height(&self) -> u16 {
        self.0.height()
    }

    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_up(n)
    }

    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_down(n)
    }

    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_right(n)
    }

    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_left(n)
    }

    fn write_line(&self, s: &str) -> io::Result<()> {
        self.0.write_line(s)
    }

    fn write_str(&self, s: &str) -> io::Result<()> {
        self.0.write_str(s)
    }

    fn clear_line(&self) -> io::Result<()> {
        self.0.clear_line()
    }

    fn flush(&self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Bars draw on stderr, with a margin, when `visible` (the caller has checked that stderr
/// is a terminal and the output is for people); otherwise nowhere.
pub fn target(visible: bool) -> ProgressDrawTarget {
    if visible {
        let term = console::Term::buffered_stderr();
        ProgressDrawTarget::term_like_with_hz(Box::new(Margin(term)), 20)
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// After Ctrl-C the terminal has echoed `^C` where the cursor was, at the start of a
/// line: on a terminal, end that line, so the outcome starts on a line of its own.
pub fn after_interrupt(mut out: impl Write, terminal: bool) {
    if terminal {
        let _ = out.write_all(b"\n").and_then(|()| out.flush());
    }
}

/// [`after_interrupt`] on stdout, where the outcome goes; on stderr when only that is a
/// terminal (the outcome is piped, and the next thing a person sees is on stderr).
pub fn after_interrupt_std() {
    use std::io::IsTerminal;
    if io::stdout().is_terminal() {
        after_interrupt(io::stdout(), true);
    } else {
        after_interrupt(io::stderr(), io::stderr().is_terminal());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::{ProgressBar, ProgressStyle};
    use std::sync::{Arc, Mutex};

    /// A terminal in memory: what was written, as one string, and how wide it is.
    #[derive(Debug, Clone)]
    struct Screen {
        width: u16,
        written: Arc<Mutex<String>>,
    }

    impl Screen {
        fn text(&self) -> String {
            self.written.lock().unwrap().clone()
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            self.width
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            self.write_str(&format!("{s}\n"))
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.written.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> io::Result<()> {
            self.write_str("<clear>")
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    fn screen(width: u16) -> Screen {
        Screen {
            width,
            written: Arc::new(Mutex::new(String::new())),
        }
    }

    #[test]
    fn a_bar_leaves_room_for_the_echoed_ctrl_c_and_is_cleared_with_it() {
        let term = screen(40);
        let target = ProgressDrawTarget::term_like(Box::new(Margin(term.clone())));
        let bar = ProgressBar::with_draw_target(Some(10), target);
        let style = ProgressStyle::with_template("[{bar:10}] {pos}/{len}").unwrap();
        bar.set_style(style.progress_chars("=> "));
        bar.set_position(3);
        bar.tick();
        let drawn = term.text();
        let line = drawn.rsplit("<clear>").next().unwrap_or(&drawn);
        assert!(line.starts_with("[===>      ] 3/10"), "{drawn:?}");
        assert_eq!(
            line.chars().count(),
            usize::from(40 - MARGIN),
            "padded to the width less the margin: {line:?}"
        );
        // The interrupt path: the bar goes, from the line it was drawn on.
        bar.finish_and_clear();
        assert!(term.text().ends_with("<clear>"), "{:?}", term.text());
    }

    #[test]
    fn the_outcome_after_ctrl_c_starts_on_its_own_line_on_a_terminal() {
        let mut out = Vec::new();
        after_interrupt(&mut out, true);
        assert_eq!(out, b"\n");
        let mut piped = Vec::new();
        after_interrupt(&mut piped, false);
        assert!(piped.is_empty(), "nothing extra in a pipe");
    }
}
