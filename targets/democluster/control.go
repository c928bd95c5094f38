package democluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/chaosctl/chaosctl/internal/httpcall"
)

// CallControl posts body to a demo member's control endpoint at addr
// (action is "clock-skew" or "corrupt"), authorised by the members' token;
// the answer is decoded into out when it is not nil.
func CallControl(ctx context.Context, c *http.Client, addr, token, action string, body, out any) error {
	what := fmt.Sprintf("control %s on %s", action, addr)
	resp, err := httpcall.Send(ctx, c, http.MethodPost, "http://"+addr+"/control/v1/"+action, token, body, what)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("%s: decode answer: %w", what, err)
		}
	}
	return nil
}
