//! Symbolic sizes: what a dynamic dimension is while tracing, and what it becomes in the graph.
//!
//! A [`SymInt`] is a size as traced code sees it: the number observed in this trace (its *hint*)
//! and, for a size that depends on a dynamic dimension, an expression over the declared dimension
//! symbols (`batch`, `seq`, `batch*seq`, `(h-1)/2+1`). Arithmetic on sizes builds expressions;
//! comparisons and conversions to plain integers are *guards*: conditions on the symbols under
//! which the traced program is the one eager code would run. Static sizes (every size of a trace
//! that declares no dynamic dimension) are plain numbers and cost nothing more.
//!
//! Expressions live in a [`SymTable`]: while a trace runs, one per thread (installed by the
//! capture session), afterwards owned by the traced [`crate::Graph`]. A `SymInt` names its
//! expression by index into that table, so it is `Copy` like the `i64` it stands for.
//!
//! Contract: expressions are polynomials with integer coefficients over atoms (symbols, the
//! runtime size of a traced value along an axis, divisions and remainders), kept in a canonical
//! form, so two sizes computed differently but equal as polynomials compare equal without a
//! guard. Division and remainder are Rust's (truncating), as ONNX's integer `Div` and
//! `Mod(fmod=1)` compute them.

use crate::SourceLocation;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

/// One factor of a monomial.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Atom {
    /// A declared dimension symbol (index into [`SymTable::dims`]).
    Sym(u32),
    /// The runtime size of value `(node, output)` along `axis`: for sizes of ops that have no
    /// shape rule. Exact at any size, but opaque to reasoning.
    Dim { node: u32, output: u16, axis: u16 },
    /// `a / b` (truncating) that does not simplify.
    Div(Box<Poly>, Box<Poly>),
    /// `a % b` that does not simplify.
    Mod(Box<Poly>, Box<Poly>),
}

/// A polynomial over [`Atom`]s with `i64` coefficients: monomial (sorted atoms, repeated for
/// powers; empty for the constant term) to coefficient, zero terms dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Poly {
    terms: BTreeMap<Vec<Atom>, i64>,
}

impl Poly {
    pub fn constant(c: i64) -> Poly {
        let mut terms = BTreeMap::new();
        if c != 0 {
            terms.insert(vec![], c);
        }
        Poly { terms }
    }

    pub fn atom(a: Atom) -> Poly {
        let mut terms = BTreeMap::new();
        terms.insert(vec![a], 1);
        Poly { terms }
    }

    /// The value, when the polynomial has no atoms.
    pub fn as_constant(&self) -> Option<i64> {
        match self.terms.len() {
            0 => Some(0),
            1 => self.terms.get(&vec![]).copied(),
            _ => None,
        }
    }

    /// The terms: monomial (atoms, with repeats) and coefficient.
    pub fn terms(&self) -> impl Iterator<Item = (&[Atom], i64)> {
        self.terms.iter().map(|(m, c)| (m.as_slice(), *c))
    }

    /// Every atom, depth first (inside floor divisions and remainders too).
    pub fn atoms(&self, out: &mut Vec<Atom>) {
        for m in self.terms.keys() {
            for a in m {
                match a {
                    Atom::Div(x, y) | Atom::Mod(x, y) => {
                        x.atoms(out);
                        y.atoms(out);
                    }
                    _ => {}
                }
                if !out.contains(a) {
                    out.push(a.clone());
                }
            }
        }
    }

    fn add_term(&mut self, m: Vec<Atom>, c: i64) {
        if c == 0 {
            return;
        }
        let e = self.terms.entry(m).or_insert(0);
        *e = e.wrapping_add(c);
        if *e == 0 {
            self.terms.retain(|_, c| *c != 0);
        }
    }

    pub fn add(&self, o: &Poly) -> Poly {
        let mut r = self.clone();
        for (m, c) in &o.terms {
            r.add_term(m.clone(), *c);
        }
        r
    }

    pub fn scale(&self, k: i64) -> Poly {
        let mut r = Poly::default();
        for (m, c) in &self.terms {
            r.add_term(m.clone(), c.wrapping_mul(k));
        }
        r
    }

    pub fn sub(&self, o: &Poly) -> Poly {
        self.add(&o.scale(-1))
    }

    pub fn mul(&self, o: &Poly) -> Poly {
        let mut r = Poly::default();
        for (ma, ca) in &self.terms {
            for (mb, cb) in &o.terms {
                let mut m = ma.clone();
                m.extend(mb.iter().cloned());
                m.sort();
                r.add_term(m, ca.wrapping_mul(*cb));
            }
        }
        r
    }

    /// `self / o` when it is exact as polynomials (every term divisible by a one-term divisor).
    fn exact_div(&self, o: &Poly) -> Option<Poly> {
        if o.terms.len() != 1 {
            return (self == o).then(|| Poly::constant(1));
        }
        let (dm, dc) = o.terms.iter().next()?;
        let mut r = Poly::default();
        for (m, c) in &self.terms {
            if *dc == 0 || c % dc != 0 {
                return None;
            }
            let mut rest = m.clone();
            for a in dm {
                let i = rest.iter().position(|x| x == a)?;
                rest.remove(i);
            }
            r.add_term(rest, c / dc);
        }
        Some(r)
    }

    /// Division truncating toward zero (Rust's `/`, ONNX's integer `Div`; floor division on the
    /// non-negative numbers sizes are).
    pub fn div(&self, o: &Poly) -> Poly {
        if let (Some(a), Some(b)) = (self.as_constant(), o.as_constant()) {
            if b != 0 {
                return Poly::constant(a.wrapping_div(b));
            }
        }
        if let Some(q) = self.exact_div(o) {
            return q;
        }
        Poly::atom(Atom::Div(Box::new(self.clone()), Box::new(o.clone())))
    }

    /// Remainder of [`Poly::div`] (Rust's `%`, ONNX's `Mod` with `fmod=1`).
    pub fn rem(&self, o: &Poly) -> Poly {
        if let (Some(a), Some(b)) = (self.as_constant(), o.as_constant()) {
            if b != 0 {
                return Poly::constant(a.wrapping_rem(b));
            }
        }
        if self.exact_div(o).is_some() {
            return Poly::constant(0);
        }
        Poly::atom(Atom::Mod(Box::new(self.clone()), Box::new(o.clone())))
    }

    /// The polynomial with each symbol `f` gives a value for replaced by that value.
    pub fn substitute(&self, f: &dyn Fn(u32) -> Option<i64>) -> Poly {
        let mut out = Poly::default();
        for (m, c) in &self.terms {
            let mut term = Poly::constant(*c);
            for a in m {
                let factor = match a {
                    Atom::Sym(i) => match f(*i) {
                        Some(v) => Poly::constant(v),
                        None => Poly::atom(a.clone()),
                    },
                    Atom::Div(x, y) => x.substitute(f).div(&y.substitute(f)),
                    Atom::Mod(x, y) => x.substitute(f).rem(&y.substitute(f)),
                    Atom::Dim { .. } => Poly::atom(a.clone()),
                };
                term = term.mul(&factor);
            }
            out = out.add(&term);
        }
        out
    }

    /// The value, given each atom's (`None` when an atom has none).
    pub fn eval(&self, atom: &mut dyn FnMut(&Atom) -> Option<i64>) -> Option<i64> {
        let mut sum = 0i64;
        for (m, c) in &self.terms {
            let mut p = *c;
            for a in m {
                let v = match a {
                    Atom::Div(x, y) => {
                        let (x, y) = (x.eval(atom)?, y.eval(atom)?);
                        Poly::constant(x).div(&Poly::constant(y)).as_constant()?
                    }
                    Atom::Mod(x, y) => {
                        let (x, y) = (x.eval(atom)?, y.eval(atom)?);
                        Poly::constant(x).rem(&Poly::constant(y)).as_constant()?
                    }
                    other => atom(other)?,
                };
                p = p.wrapping_mul(v);
            }
            sum = sum.wrapping_add(p);
        }
        Some(sum)
    }

    /// The polynomial with atoms written by `name` (`2*batch*seq+1`, `(h+1)/2`).
    pub fn display<'a>(&'a self, name: &'a dyn Fn(&Atom) -> String) -> impl fmt::Display + 'a {
        struct D<'a>(&'a Poly, &'a dyn Fn(&Atom) -> String);
        impl fmt::Display for D<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if self.0.terms.is_empty() {
                    return f.write_str("0");
                }
                // Highest degree first: `batch*seq+1`, not `1+batch*seq`.
                let mut terms: Vec<_> = self.0.terms.iter().collect();
                terms.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
                for (i, (m, c)) in terms.into_iter().enumerate() {
                    let c = *c;
                    if i > 0 {
                        f.write_str(if c < 0 { "-" } else { "+" })?;
                    } else if c < 0 {
                        f.write_str("-")?;
                    }
                    let a = c.unsigned_abs();
                    if m.is_empty() {
                        write!(f, "{a}")?;
                        continue;
                    }
                    if a != 1 {
                        write!(f, "{a}*")?;
                    }
                    for (k, atom) in m.iter().enumerate() {
                        if k > 0 {
                            f.write_str("*")?;
                        }
                        match atom {
                            // Inside a product, a quotient is parenthesized: `2*((h-2)/2)`.
                            Atom::Div(x, y) | Atom::Mod(x, y) => {
                                let op = if matches!(atom, Atom::Div(..)) { "/" } else { "%" };
                                let wrap = a != 1 || m.len() > 1;
                                let (l, r) = if wrap { ("(", ")") } else { ("", "") };
                                write!(f, "{l}{}{op}{}{r}", Operand(x, self.1), Operand(y, self.1))?
                            }
                            other => f.write_str(&(self.1)(other))?,
                        }
                    }
                }
                Ok(())
            }
        }
        D(self, name)
    }

    /// How complex the polynomial is (atoms and terms, nested ones included): guards that equate
    /// two sizes keep the simpler one.
    pub fn complexity(&self) -> usize {
        self.terms
            .keys()
            .map(|m| {
                1 + m
                    .iter()
                    .map(|a| match a {
                        Atom::Div(x, y) | Atom::Mod(x, y) => 1 + x.complexity() + y.complexity(),
                        _ => 1,
                    })
                    .sum::<usize>()
            })
            .sum()
    }

    /// Whether this is `coeff * symbol + constant` for exactly one symbol: an equality on it
    /// pins that symbol to one value.
    fn single_linear_symbol(&self) -> Option<u32> {
        let mut sym = None;
        for m in self.terms.keys() {
            match m.as_slice() {
                [] => {}
                [Atom::Sym(s)] if sym.is_none() => sym = Some(*s),
                _ => return None,
            }
        }
        sym
    }
}

/// An operand of `/` or `%` in printed form: parenthesized unless a number or a single atom.
struct Operand<'a>(&'a Poly, &'a dyn Fn(&Atom) -> String);

impl fmt::Display for Operand<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let simple = self.0.as_constant().is_some_and(|c| c >= 0)
            || (self.0.terms.len() == 1 && self.0.terms.iter().all(|(m, c)| *c == 1 && m.len() == 1));
        if simple {
            write!(f, "{}", self.0.display(self.1))
        } else {
            write!(f, "({})", self.0.display(self.1))
        }
    }
}

/// A declared dynamic dimension, as the trace knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DimDecl {
    pub name: String,
    /// Inclusive bounds (`min`, `max`); `None` for unbounded above.
    pub min: i64,
    pub max: Option<i64>,
    /// The size observed in the trace.
    pub hint: i64,
    /// Where the graph reads it: (input index, axis) of the first input that declares it.
    pub input: usize,
    pub axis: usize,
    /// Why the trace made it static (see [`SymTable::specialize`]), if it did.
    pub specialized: Option<String>,
}

/// How a guard relates its expression to zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rel {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Rel {
    fn holds(self, v: i64) -> bool {
        match self {
            Rel::Eq => v == 0,
            Rel::Ne => v != 0,
            Rel::Lt => v < 0,
            Rel::Le => v <= 0,
            Rel::Gt => v > 0,
            Rel::Ge => v >= 0,
        }
    }
    fn text(self) -> &'static str {
        match self {
            Rel::Eq => "==",
            Rel::Ne => "!=",
            Rel::Lt => "<",
            Rel::Le => "<=",
            Rel::Gt => ">",
            Rel::Ge => ">=",
        }
    }
}

/// A condition on the dimension symbols the traced program relies on: `lhs rel rhs` held in the
/// trace (a comparison of sizes taken by the traced code, a size equality an op needed).
#[derive(Clone, Debug, PartialEq)]
pub struct SizeGuard {
    pub lhs: Poly,
    pub rel: Rel,
    pub rhs: Poly,
    /// What made it: `comparison`, or the op that needed it (`add: broadcast`, `reshape`).
    pub what: String,
    pub location: SourceLocation,
}

/// Why a trace cannot keep a dimension dynamic.
#[derive(Clone, Debug, PartialEq)]
pub struct SymError {
    pub message: String,
    pub location: SourceLocation,
}

/// The expressions and guards of one trace.
#[derive(Clone, Debug, Default)]
pub struct SymTable {
    /// The declared dimensions; `Atom::Sym(i)` is `dims[i]`.
    pub dims: Vec<DimDecl>,
    /// Expression `i` of the `SymInt`s of this trace (index 0 is unused: static).
    exprs: Vec<Poly>,
    index: HashMap<Poly, u32>,
    /// The conditions on the symbols the trace relies on, in order.
    pub guards: Vec<SizeGuard>,
    /// Sizes that could not stay dynamic (the trace fails with the first).
    pub errors: Vec<SymError>,
    /// The op being recorded, for guards that an op's shape rule needs.
    pub(crate) current: Option<(&'static str, SourceLocation)>,
    /// Whether a dimension the traced code needs at its traced size becomes static (with a
    /// guard) instead of failing the trace.
    pub specialize: bool,
    generation: u32,
}

static NEXT_GENERATION: AtomicU32 = AtomicU32::new(1);

thread_local! {
    static ACTIVE: RefCell<Option<SymTable>> = const { RefCell::new(None) };
    /// Sizes at replay: the table and a value per expression, for eager rules' `SymInt::get`.
    static REPLAY: RefCell<Option<(u32, Vec<Option<i64>>)>> = const { RefCell::new(None) };
    /// The table used to print `SymInt`s (set while a graph prints).
    static PRINTING: RefCell<Option<(u32, Vec<String>)>> = const { RefCell::new(None) };
    /// While a rule runs under [`checking_sizes`]: the conditions it stated that do not hold.
    static MISMATCHES: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

impl SymTable {
    /// A table for a new trace with `dims` declared.
    pub fn new(dims: Vec<DimDecl>) -> SymTable {
        let generation = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed);
        SymTable { dims, exprs: vec![Poly::default()], generation, ..Default::default() }
    }

    /// Whether any dimension is dynamic.
    pub fn is_dynamic(&self) -> bool {
        !self.dims.is_empty()
    }

    /// The expression of `s`; `None` for a static size (one that became static when its
    /// dimensions were specialized included) or one of another trace.
    pub fn expr(&self, s: SymInt) -> Option<&Poly> {
        if s.expr == 0 || s.generation != self.generation {
            return None;
        }
        self.exprs.get(s.expr as usize).filter(|p| p.as_constant().is_none())
    }

    /// Makes every symbol of `p` static at its traced size, or (without
    /// [`SymTable::specialize`]) records why the trace cannot: `message` at `location`.
    pub fn specialize_or_fail(&mut self, p: &Poly, message: String, location: SourceLocation) {
        let mut atoms = vec![];
        p.atoms(&mut atoms);
        let symbols: Vec<u32> =
            atoms.iter().filter_map(|a| if let Atom::Sym(i) = a { Some(*i) } else { None }).collect();
        if !self.specialize || symbols.is_empty() {
            self.errors.push(SymError { message, location });
            return;
        }
        for i in symbols {
            let Some(d) = self.dims.get_mut(i as usize) else { continue };
            if d.specialized.is_none() {
                d.specialized = Some(format!("{message} (at {location})"));
                let hint = d.hint;
                let guard = SizeGuard {
                    lhs: Poly::atom(Atom::Sym(i)),
                    rel: Rel::Eq,
                    rhs: Poly::constant(hint),
                    what: "specialized".into(),
                    location,
                };
                self.guards.push(guard);
            }
        }
    }

    /// Replaces each specialized symbol by its traced size in every expression (the trace
    /// ends): sizes of those dimensions are static from then on.
    pub fn finish_specialization(&mut self) {
        let values: Vec<Option<i64>> = self.dims.iter().map(|d| d.specialized.as_ref().map(|_| d.hint)).collect();
        if values.iter().all(Option::is_none) {
            return;
        }
        let f = |i: u32| values.get(i as usize).copied().flatten();
        for p in &mut self.exprs {
            *p = p.substitute(&f);
        }
        for g in &mut self.guards {
            if g.what != "specialized" {
                g.lhs = g.lhs.substitute(&f);
                g.rhs = g.rhs.substitute(&f);
            }
        }
        self.guards.retain(|g| g.what == "specialized" || g.lhs.sub(&g.rhs).as_constant().is_none());
    }

    /// `s` as a polynomial (a constant for a static size).
    pub fn poly(&self, s: SymInt) -> Poly {
        self.expr(s).cloned().unwrap_or_else(|| Poly::constant(s.hint))
    }

    fn intern(&mut self, p: Poly, hint: i64) -> SymInt {
        if let Some(c) = p.as_constant() {
            return SymInt::from(c);
        }
        let id = match self.index.get(&p) {
            Some(id) => *id,
            None => {
                self.exprs.push(p.clone());
                let id = self.exprs.len() as u32 - 1;
                self.index.insert(p, id);
                id
            }
        };
        SymInt { hint, expr: id, generation: self.generation }
    }

    /// A size with expression `p` observed as `hint`.
    pub fn sym(&mut self, p: Poly, hint: i64) -> SymInt {
        self.intern(p, hint)
    }

    /// The name of an atom for printing.
    pub fn atom_name(&self, a: &Atom) -> String {
        match a {
            Atom::Sym(i) => self.dims.get(*i as usize).map_or_else(|| format!("s{i}"), |d| d.name.clone()),
            Atom::Dim { node, output, axis } => format!("dim(%{node}.{output},{axis})"),
            other => format!("{other:?}"),
        }
    }

    /// `p` as text (`batch*seq`).
    pub fn text(&self, p: &Poly) -> String {
        p.display(&|a| self.atom_name(a)).to_string()
    }

    /// `s` as text: its expression, or its number when static.
    pub fn sym_text(&self, s: SymInt) -> String {
        match self.expr(s) {
            Some(p) => self.text(p),
            None => s.hint.to_string(),
        }
    }

    /// `g` as text (`seq <= 512`).
    pub fn guard_text(&self, g: &SizeGuard) -> String {
        format!("{} {} {}", self.text(&g.lhs), g.rel.text(), self.text(&g.rhs))
    }

    /// The value of `p` with each symbol at `dims[i]`; `None` when `p` has an opaque atom.
    pub fn eval_at(&self, p: &Poly, dims: &[i64]) -> Option<i64> {
        p.eval(&mut |a| match a {
            Atom::Sym(i) => dims.get(*i as usize).copied(),
            _ => None,
        })
    }

    /// The first guard (or declared range) that sizes `dims` break, as a sentence.
    pub fn violation(&self, dims: &[i64]) -> Option<String> {
        for (d, v) in self.dims.iter().zip(dims) {
            if *v < d.min || d.max.is_some_and(|m| *v > m) {
                let max = d.max.map_or("inf".to_owned(), |m| m.to_string());
                return Some(format!("dimension `{}` is {v}, outside its declared range {}..={max}", d.name, d.min));
            }
        }
        for g in &self.guards {
            let (Some(l), Some(r)) = (self.eval_at(&g.lhs, dims), self.eval_at(&g.rhs, dims)) else { continue };
            if !g.rel.holds(l.wrapping_sub(r)) {
                let at: Vec<String> = self.dims.iter().zip(dims).map(|(d, v)| format!("{}={v}", d.name)).collect();
                return Some(format!(
                    "guard `{}` ({}, {}) does not hold at {}",
                    self.guard_text(g),
                    g.what,
                    g.location,
                    at.join(", ")
                ));
            }
        }
        None
    }

    /// Records that `lhs rel rhs` held (or, when `held` is false, its negation) and reports a
    /// guard that pins a dynamic dimension to one value as an error.
    fn guard(&mut self, lhs: Poly, rel: Rel, rhs: Poly, held: bool, what: String, location: SourceLocation) {
        let rel = if held {
            rel
        } else {
            match rel {
                Rel::Eq => Rel::Ne,
                Rel::Ne => Rel::Eq,
                Rel::Lt => Rel::Ge,
                Rel::Le => Rel::Gt,
                Rel::Gt => Rel::Le,
                Rel::Ge => Rel::Lt,
            }
        };
        let (what, location) = match self.current {
            Some((op, loc)) => (format!("{op}: {what}"), loc),
            None => (what, location),
        };
        let guard = SizeGuard { lhs, rel, rhs, what, location };
        if rel == Rel::Eq {
            let diff = guard.lhs.sub(&guard.rhs);
            if let Some(s) = diff.single_linear_symbol() {
                let name = self.dims.get(s as usize).map_or("?", |d| d.name.as_str()).to_owned();
                let hint = self.dims.get(s as usize).map_or(0, |d| d.hint);
                let message = format!(
                    "`{}` ({}) holds only when dimension `{name}` is {hint}: the dynamic dimension would be baked",
                    self.guard_text(&guard),
                    guard.what
                );
                self.specialize_or_fail(&diff, message, location);
            }
        }
        if !self.guards.contains(&guard) {
            self.guards.push(guard);
        }
    }

    /// Sets the op whose shape rule runs next (its guards name it), or clears it.
    pub fn set_current(&mut self, op: Option<(&'static str, SourceLocation)>) {
        self.current = op;
    }
}

/// Installs `table` as this thread's active table (a trace starts).
pub fn install(table: SymTable) {
    ACTIVE.with(|a| *a.borrow_mut() = Some(table));
}

/// Removes and returns this thread's active table (the trace ends).
pub fn uninstall() -> Option<SymTable> {
    ACTIVE.with(|a| a.borrow_mut().take())
}

/// Runs `f` (an op's shape rule, when nothing checked the sizes before it: a shape-only trace)
/// and returns what it gave with the conditions it stated through [`SymInt::same_as`] that do
/// not hold at the traced sizes, as sentences (`broadcast: 3 and 4`).
pub fn checking_sizes<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    let outer = MISMATCHES.with(|m| m.borrow_mut().replace(Vec::new()));
    let r = f();
    let found = MISMATCHES.with(|m| std::mem::replace(&mut *m.borrow_mut(), outer)).unwrap_or_default();
    (r, found)
}

/// Records that condition `what` (`a == b`) does not hold, under [`checking_sizes`].
fn mismatch(what: &str, a: i64, b: i64) {
    MISMATCHES.with(|m| {
        if let Some(list) = m.borrow_mut().as_mut() {
            list.push(format!("{what}: sizes {a} and {b} differ"));
        }
    });
}

/// Runs `f` on the active table, if any.
pub fn with_active<R>(f: impl FnOnce(&mut SymTable) -> R) -> Option<R> {
    ACTIVE.with(|a| a.borrow_mut().as_mut().map(f))
}

/// Runs `f` with the sizes of `table` at replay given by `values` (one per expression, from
/// [`SymTable::replay_values`]): eager rules' [`SymInt::get`] read them.
pub fn with_replay_values<R>(table: &SymTable, values: Vec<Option<i64>>, f: impl FnOnce() -> R) -> R {
    REPLAY.with(|r| *r.borrow_mut() = Some((table.generation, values)));
    let out = f();
    REPLAY.with(|r| *r.borrow_mut() = None);
    out
}

/// Replaces the sizes [`with_replay_values`] set (as more of them become known).
pub fn set_replay_values(table: &SymTable, values: Vec<Option<i64>>) {
    REPLAY.with(|r| *r.borrow_mut() = Some((table.generation, values)));
}

/// Runs `f` with `table` used to print `SymInt`s (as their expressions).
pub fn with_printing<R>(table: &SymTable, f: impl FnOnce() -> R) -> R {
    let names = table.exprs.iter().map(|p| table.text(p)).collect();
    let prev = PRINTING.with(|p| p.borrow_mut().replace((table.generation, names)));
    let out = f();
    PRINTING.with(|p| *p.borrow_mut() = prev);
    out
}

impl SymTable {
    /// The value of every expression with each symbol at `dims[i]` and each opaque atom by
    /// `dim_of` (for [`with_replay_values`]).
    pub fn replay_values(
        &self,
        dims: &[i64],
        dim_of: &mut dyn FnMut(u32, u16, u16) -> Option<i64>,
    ) -> Vec<Option<i64>> {
        self.exprs
            .iter()
            .map(|p| {
                p.eval(&mut |a| match a {
                    Atom::Sym(i) => dims.get(*i as usize).copied(),
                    Atom::Dim { node, output, axis } => dim_of(*node, *output, *axis),
                    _ => None,
                })
            })
            .collect()
    }

    /// The expressions (index 0 unused).
    pub fn exprs(&self) -> &[Poly] {
        &self.exprs
    }
}

/// A size: an `i64` in a static trace, an expression over dynamic dimensions in a dynamic one.
///
/// Arithmetic (`+ - * / %` with sizes and `i64`s) records the expression; comparing with `==`,
/// `<`, ... or converting with [`SymInt::to_i64`] is a guard on the dimensions, recorded with
/// the caller's source line. Ops take sizes wherever tch takes `i64` sizes, so
/// `x.view((b, t, h, c / h))` with `let (b, t, c) = x.sym_size3()?` exports with `b` and `t`
/// computed from the input's shape.
#[derive(Clone, Copy)]
pub struct SymInt {
    hint: i64,
    /// Index into the trace's [`SymTable`]; 0 for a static size.
    expr: u32,
    generation: u32,
}

impl SymInt {
    /// The size observed in this trace. Building a shape from it bakes it: eager rules use
    /// [`SymInt::get`], traced code [`SymInt::to_i64`].
    pub fn hint(self) -> i64 {
        self.hint
    }

    /// The size to compute with in an op's eager rule: the observed size while tracing, the size
    /// at the replayed inputs during replay.
    pub fn get(self) -> i64 {
        if self.expr == 0 {
            return self.hint;
        }
        REPLAY
            .with(|r| {
                r.borrow()
                    .as_ref()
                    .filter(|(g, _)| *g == self.generation)
                    .and_then(|(_, v)| v.get(self.expr as usize).copied().flatten())
            })
            .unwrap_or(self.hint)
    }

    /// Whether this size is a plain number (depends on no dynamic dimension).
    pub fn is_static(self) -> bool {
        self.expr == 0
    }

    /// The number, when static.
    pub fn as_static(self) -> Option<i64> {
        (self.expr == 0).then_some(self.hint)
    }

    /// The size as a plain integer. For a dynamic size this is a guard that pins its dimension
    /// to the traced value, which fails the trace (name the op and line); use sizes as `SymInt`s
    /// instead.
    #[track_caller]
    pub fn to_i64(self) -> i64 {
        if self.expr != 0 {
            let location = SourceLocation::caller();
            with_active(|t| {
                if t.expr(self).is_some() {
                    let p = t.poly(self);
                    let message = format!(
                        "the dynamic size `{}` (traced as {}) was read as a plain integer, which bakes it",
                        t.text(&p),
                        self.hint
                    );
                    t.specialize_or_fail(&p, message, location);
                }
            });
        }
        self.hint
    }

    /// The expression id (0 for static), for tables that look it up.
    pub fn expr_id(self) -> u32 {
        self.expr
    }

    fn binary(self, o: SymInt, num: impl Fn(i64, i64) -> i64, poly: impl Fn(&Poly, &Poly) -> Poly) -> SymInt {
        let hint = num(self.hint, o.hint);
        if self.expr == 0 && o.expr == 0 {
            return SymInt::from(hint);
        }
        with_active(|t| {
            let (a, b) = (t.poly(self), t.poly(o));
            t.intern(poly(&a, &b), hint)
        })
        .unwrap_or(SymInt::from(hint))
    }

    fn compare(self, o: SymInt, rel: Rel, location: SourceLocation) -> bool {
        let d = self.hint.wrapping_sub(o.hint);
        let held = rel.holds(d);
        if self.expr == 0 && o.expr == 0 {
            return held;
        }
        with_active(|t| {
            let (a, b) = (t.poly(self), t.poly(o));
            match a.sub(&b).as_constant() {
                Some(c) => rel.holds(c),
                None => {
                    t.guard(a, rel, b, held, "comparison".into(), location);
                    held
                }
            }
        })
        .unwrap_or(held)
    }

    /// The size two equal sizes share, for an op's shape rule: `self`'s or `o`'s, whichever has
    /// the simpler expression, after recording `self == o` (see [`SymInt::same_as`]).
    #[track_caller]
    pub fn unify(self, o: SymInt, what: &str) -> SymInt {
        self.same_as(o, what);
        if self.expr == 0 || o.expr == 0 {
            return if self.expr == 0 { self } else { o };
        }
        with_active(|t| {
            let (a, b) = (t.poly(self).complexity(), t.poly(o).complexity());
            if b < a {
                o
            } else {
                self
            }
        })
        .unwrap_or(self)
    }

    /// `self == o` as an op's shape rule needs it (a guard naming the op when not provable).
    #[track_caller]
    pub fn same_as(self, o: SymInt, what: &str) -> bool {
        let held = self.hint == o.hint;
        if !held {
            mismatch(what, self.hint, o.hint);
        }
        if self.expr == 0 && o.expr == 0 {
            return held;
        }
        let location = SourceLocation::caller();
        with_active(|t| {
            let (a, b) = (t.poly(self), t.poly(o));
            if a == b {
                return true;
            }
            t.guard(a, Rel::Eq, b, held, what.to_owned(), location);
            held
        })
        .unwrap_or(held)
    }
}

impl From<i64> for SymInt {
    fn from(v: i64) -> Self {
        SymInt { hint: v, expr: 0, generation: 0 }
    }
}

impl From<i32> for SymInt {
    fn from(v: i32) -> Self {
        SymInt::from(v as i64)
    }
}

impl From<usize> for SymInt {
    fn from(v: usize) -> Self {
        SymInt::from(v as i64)
    }
}

impl fmt::Debug for SymInt {
    /// The number when static; the expression while a table prints (`batch*4`), else the
    /// observed number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.expr != 0 {
            let text = PRINTING.with(|p| {
                p.borrow()
                    .as_ref()
                    .filter(|(g, _)| *g == self.generation)
                    .and_then(|(_, names)| names.get(self.expr as usize).cloned())
            });
            if let Some(text) = text {
                return f.write_str(&text);
            }
        }
        write!(f, "{}", self.hint)
    }
}

impl fmt::Display for SymInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

macro_rules! arith {
    ($tr:ident, $m:ident, $num:expr, $poly:expr) => {
        impl std::ops::$tr<SymInt> for SymInt {
            type Output = SymInt;
            fn $m(self, o: SymInt) -> SymInt {
                self.binary(o, $num, $poly)
            }
        }
        impl std::ops::$tr<i64> for SymInt {
            type Output = SymInt;
            fn $m(self, o: i64) -> SymInt {
                self.binary(SymInt::from(o), $num, $poly)
            }
        }
        impl std::ops::$tr<SymInt> for i64 {
            type Output = SymInt;
            fn $m(self, o: SymInt) -> SymInt {
                SymInt::from(self).binary(o, $num, $poly)
            }
        }
    };
}

arith!(Add, add, |a: i64, b: i64| a.wrapping_add(b), |a: &Poly, b: &Poly| a.add(b));
arith!(Sub, sub, |a: i64, b: i64| a.wrapping_sub(b), |a: &Poly, b: &Poly| a.sub(b));
arith!(Mul, mul, |a: i64, b: i64| a.wrapping_mul(b), |a: &Poly, b: &Poly| a.mul(b));
arith!(Div, div, |a: i64, b: i64| if b == 0 { 0 } else { a.wrapping_div(b) }, |a: &Poly, b: &Poly| a.div(b));
arith!(Rem, rem, |a: i64, b: i64| if b == 0 { 0 } else { a.wrapping_rem(b) }, |a: &Poly, b: &Poly| a.rem(b));

impl std::ops::Neg for SymInt {
    type Output = SymInt;
    fn neg(self) -> SymInt {
        SymInt::from(0) - self
    }
}

impl PartialEq<SymInt> for SymInt {
    /// Equal as expressions, or (a guard) equal as observed.
    #[track_caller]
    fn eq(&self, o: &SymInt) -> bool {
        self.compare(*o, Rel::Eq, SourceLocation::caller())
    }
}

impl PartialEq<i64> for SymInt {
    #[track_caller]
    fn eq(&self, o: &i64) -> bool {
        self.compare(SymInt::from(*o), Rel::Eq, SourceLocation::caller())
    }
}

impl PartialOrd<i64> for SymInt {
    #[track_caller]
    fn partial_cmp(&self, o: &i64) -> Option<std::cmp::Ordering> {
        self.partial_cmp(&SymInt::from(*o))
    }
    #[track_caller]
    fn lt(&self, o: &i64) -> bool {
        self.compare(SymInt::from(*o), Rel::Lt, SourceLocation::caller())
    }
    #[track_caller]
    fn le(&self, o: &i64) -> bool {
        self.compare(SymInt::from(*o), Rel::Le, SourceLocation::caller())
    }
    #[track_caller]
    fn gt(&self, o: &i64) -> bool {
        self.compare(SymInt::from(*o), Rel::Gt, SourceLocation::caller())
    }
    #[track_caller]
    fn ge(&self, o: &i64) -> bool {
        self.compare(SymInt::from(*o), Rel::Ge, SourceLocation::caller())
    }
}

impl PartialOrd<SymInt> for SymInt {
    #[track_caller]
    fn partial_cmp(&self, o: &SymInt) -> Option<std::cmp::Ordering> {
        // An ordering is three guards' worth; record the one that decided it.
        let location = SourceLocation::caller();
        Some(if self.compare(*o, Rel::Lt, location) {
            std::cmp::Ordering::Less
        } else if self.compare(*o, Rel::Gt, location) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        })
    }
    #[track_caller]
    fn lt(&self, o: &SymInt) -> bool {
        self.compare(*o, Rel::Lt, SourceLocation::caller())
    }
    #[track_caller]
    fn le(&self, o: &SymInt) -> bool {
        self.compare(*o, Rel::Le, SourceLocation::caller())
    }
    #[track_caller]
    fn gt(&self, o: &SymInt) -> bool {
        self.compare(*o, Rel::Gt, SourceLocation::caller())
    }
    #[track_caller]
    fn ge(&self, o: &SymInt) -> bool {
        self.compare(*o, Rel::Ge, SourceLocation::caller())
    }
}

/// Sizes as ops hold them.
pub type SymDims = smallvec::SmallVec<[SymInt; 4]>;

/// The observed numbers of `dims`.
pub fn hints(dims: &[SymInt]) -> crate::Shape {
    dims.iter().map(|d| d.hint()).collect()
}

/// The numbers of `dims` for an eager rule (replay-aware, see [`SymInt::get`]).
pub fn values(dims: &[SymInt]) -> crate::Shape {
    dims.iter().map(|d| d.get()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn table() -> SymTable {
        let d = |name: &str, hint| DimDecl {
            name: name.into(),
            min: 1,
            max: None,
            hint,
            input: 0,
            axis: 0,
            specialized: None,
        };
        SymTable::new(vec![d("batch", 2), d("seq", 16)])
    }

    #[test]
    fn arithmetic_builds_canonical_expressions() {
        install(table());
        let (b, t) =
            with_active(|t| (t.sym(Poly::atom(Atom::Sym(0)), 2), t.sym(Poly::atom(Atom::Sym(1)), 16))).unwrap();
        let bt = b * t;
        assert_eq!(bt.hint(), 32);
        assert_eq!(bt / t, b, "exact division simplifies");
        assert_eq!((t * 4 + 4) / 4, t + 1);
        let half = t / 2;
        let table = uninstall().unwrap();
        assert_eq!(table.sym_text(bt), "batch*seq");
        assert_eq!(table.sym_text(half), "seq/2");
        assert!(table.guards.is_empty(), "provable equalities record no guard");
    }

    #[test]
    fn comparisons_are_guards_and_pinning_is_an_error() {
        install(table());
        let t = with_active(|t| t.sym(Poly::atom(Atom::Sym(1)), 16)).unwrap();
        assert!(t <= 512);
        assert!(t == 16);
        let table = uninstall().unwrap();
        assert_eq!(table.guards.len(), 2);
        assert_eq!(table.guard_text(&table.guards[0]), "seq <= 512");
        assert_eq!(table.errors.len(), 1, "{:?}", table.errors);
        assert!(table.violation(&[2, 600]).unwrap().contains("seq <= 512"));
    }
}
