// The ShareX and Flameshot buttons side by side, and the error of the last one pressed: the key page and a new key's card.
export interface ToolButton {
  readonly label: string;
  readonly onClick: () => void;
  /** While its work runs: the button is disabled and says "Preparing…". */
  readonly busy?: boolean;
}

export function ToolButtons({ sharex, flameshot, error }: { sharex: ToolButton; flameshot: ToolButton; error: string | null }) {
  return (
    <>
      <div class="inline wrap">
        {[sharex, flameshot].map((tool) => (
          <button key={tool.label} type="button" disabled={tool.busy} onClick={tool.onClick}>
            {tool.busy ? 'Preparing…' : tool.label}
          </button>
        ))}
      </div>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
    </>
  );
}
