// A small SVG line chart (no chart library: a few paths keep the bundle small). Each series is a line
// over the same x points; null values leave a gap. The y axis starts at 0.
type Series = { label: string; values: Array<number | null>; color: string };

const W = 640;
const H = 180;
const PAD = { left: 48, right: 12, top: 12, bottom: 26 };

export function LineChart({ title, labels, series, format }: { title: string; labels: string[]; series: Series[]; format: (v: number) => string }) {
  const all = series.flatMap((s) => s.values).filter((v): v is number => v !== null);
  const max = Math.max(1e-9, ...all);
  const x = (i: number) => PAD.left + (labels.length <= 1 ? 0 : (i / (labels.length - 1)) * (W - PAD.left - PAD.right));
  const y = (v: number) => PAD.top + (1 - v / max) * (H - PAD.top - PAD.bottom);
  const path = (values: Array<number | null>) => {
    let d = '';
    let pen = false;
    values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    return d;
  };
  const ticks = [0, max / 2, max];
  const every = Math.max(1, Math.ceil(labels.length / 6));
  return (
    <figure class='min-w-0' data-testid={`chart-${title}`}>
      <figcaption class='mb-1 flex flex-wrap items-center gap-3 text-xs text-slate-500 dark:text-slate-400'>
        <span class='font-semibold text-slate-700 dark:text-slate-200'>{title}</span>
        {series.map((s) => (
          <span key={s.label} class='inline-flex items-center gap-1'>
            <span class='inline-block h-0.5 w-3' style={{ background: s.color }} />
            {s.label}
          </span>
        ))}
      </figcaption>
      {all.length === 0 ? (
        <p class='py-6 text-center text-sm text-slate-500'>No finished runs in this window.</p>
      ) : (
        <svg viewBox={`0 0 ${W} ${H}`} class='h-auto w-full' role='img' aria-label={title}>
          {ticks.map((t) => (
            <g key={t}>
              <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} class='stroke-slate-200 dark:stroke-slate-800' stroke-width='1' />
              <text x={PAD.left - 6} y={y(t) + 4} text-anchor='end' class='fill-slate-500 text-[10px]'>
                {format(t)}
              </text>
            </g>
          ))}
          {labels.map(
            (l, i) =>
              (i % every === 0 || i === labels.length - 1) && (
                <text key={l} x={x(i)} y={H - 8} text-anchor='middle' class='fill-slate-500 text-[10px]'>
                  {l.slice(5)}
                </text>
              ),
          )}
          {series.map((s) => (
            <g key={s.label}>
              <path d={path(s.values)} fill='none' stroke={s.color} stroke-width='2' data-series={s.label} />
              {s.values.map(
                (v, i) =>
                  v !== null && (
                    <circle key={i} cx={x(i)} cy={y(v)} r='2.5' fill={s.color}>
                      <title>{`${labels[i]}: ${format(v)}`}</title>
                    </circle>
                  ),
              )}
            </g>
          ))}
        </svg>
      )}
    </figure>
  );
}
